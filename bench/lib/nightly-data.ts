import { createReadStream } from 'node:fs';
import { open, writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { EmulatorState, StateGroup } from '../../src/emulator/snapshot.js';
import { scanInput } from '../../src/reader/scan-input.js';

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
        const number = Number(/(\d+)$/.exec(user)?.[1] ?? Number.NaN);
        const hasConversation = (cells[2] ?? '') !== '';
        if (number % 100 === 42 && user !== lastChanged && hasConversation) {
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

/**
 * The emulator state (`--state-file` body) in which every user of `csv` already has exactly the groups
 * the CSV wants: the app as the previous night left it.
 */
export async function writeSeedState(csv: string, output: string): Promise<number> {
  const scan = await scanInput(csv);
  const users: Record<string, StateGroup[]> = {};
  let count = 0;
  for await (const user of scan.users()) {
    count++;
    users[user.user] = user.groups.map((g, i) => ({
      groupId: i + 1,
      name: g.name,
      members: g.conversations.map((c) => ({ type: c.type, id: c.id })),
    }));
  }
  const state: EmulatorState = { users };
  await writeFile(output, JSON.stringify(state));
  return count;
}
