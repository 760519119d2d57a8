import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';

/** Splits one CSV line of bench/gen-csv.ts's output (quoted cells allowed, no newline inside a cell). */
function splitLine(line: string): string[] {
  const cells: string[] = [];
  let i = 0;
  while (i <= line.length) {
    if (line[i] === '"') {
      let value = '';
      i++;
      for (;;) {
        const close = line.indexOf('"', i);
        if (close < 0) throw new Error(`unterminated quote in: ${line}`);
        value += line.slice(i, close);
        if (line[close + 1] === '"') {
          value += '"';
          i = close + 2;
        } else {
          i = close + 1;
          break;
        }
      }
      cells.push(value);
      i++; // the comma
    } else {
      const comma = line.indexOf(',', i);
      const end = comma < 0 ? line.length : comma;
      cells.push(line.slice(i, end));
      i = end + 1;
    }
  }
  return cells;
}

const quote = (v: string): string => (/[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);

/**
 * Night 1 from night 0: for every user whose number is 42 mod 100 (1% of gen-csv's `user_NNN`), the
 * first row with a conversation is replaced by one with a new peer in the same group. In mirror mode
 * that is one update per changed user (one add, one removal). The file stays grouped by user.
 * Returns the number of users changed.
 */
export async function changeOnePercent(input: string, output: string): Promise<number> {
  const out = await open(output, 'w');
  let buffer = '';
  let changed = 0;
  let lastChanged = '';
  try {
    let first = true;
    for await (const line of createInterface({
      input: createReadStream(input),
      crlfDelay: Number.POSITIVE_INFINITY,
    })) {
      let text = line;
      if (first) {
        first = false;
      } else if (line !== '') {
        const cells = splitLine(line);
        const user = cells[0] ?? '';
        const hasConversation = (cells[2] ?? '') !== '';
        if (isChangedUser(user) && user !== lastChanged && hasConversation) {
          lastChanged = user;
          changed++;
          text = [user, quote(cells[1] ?? ''), '1', `nightly_peer_${user}`, ''].join(',');
        }
      }
      buffer += `${text}\n`;
      if (buffer.length >= 1 << 20) {
        await out.write(buffer);
        buffer = '';
      }
    }
    await out.write(buffer);
  } finally {
    await out.close();
  }
  return changed;
}

/** The users night 1 changes: gen-csv's `user_NNN` whose number is 42 mod 100 (1%). */
export function isChangedUser(user: string): boolean {
  return Number(/(\d+)$/.exec(user)?.[1] ?? Number.NaN) % 100 === 42;
}

/**
 * The header and every row of the users {@link changeOnePercent} changes, as they were in `input`:
 * applied in mirror mode, it puts those users back as they were and leaves every other user alone.
 */
export async function selectChangedUsers(input: string, output: string): Promise<void> {
  const out = await open(output, 'w');
  let buffer = '';
  try {
    let first = true;
    for await (const line of createInterface({
      input: createReadStream(input),
      crlfDelay: Number.POSITIVE_INFINITY,
    })) {
      if (first || (line !== '' && isChangedUser(line.slice(0, line.indexOf(','))))) buffer += `${line}\n`;
      first = false;
      if (buffer.length >= 1 << 20) {
        await out.write(buffer);
        buffer = '';
      }
    }
    await out.write(buffer);
  } finally {
    await out.close();
  }
}
