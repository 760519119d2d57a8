import type { Membership } from '../../model.js';

/**
 * The working-file format of the reader (spill and partitions): one row per line,
 * `user TAB kind TAB group TAB id TAB line LF`, where kind is `0` (empty-group declaration), `1` or `2`
 * (conversation type), or `R` (a rejected row of that user: only marks the user). Backslash, TAB, CR
 * and LF inside values are escaped as `\\`, `\t`, `\r`, `\n`. The user comes first so a line can be
 * routed to its partition without decoding it.
 */

export function escapeValue(value: string): string {
  let plain = true;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    // TAB 9, LF 10, CR 13, backslash 92
    if (c === 92 || (c <= 13 && (c === 9 || c === 10 || c === 13))) {
      plain = false;
      break;
    }
  }
  if (plain) return value;
  return value.replace(/[\\\t\r\n]/g, (ch) =>
    ch === '\\' ? '\\\\' : ch === '\t' ? '\\t' : ch === '\r' ? '\\r' : '\\n',
  );
}

export function unescapeValue(value: string): string {
  if (value.indexOf('\\') === -1) return value;
  return value.replace(/\\(.)/g, (_, ch: string) =>
    ch === 't' ? '\t' : ch === 'r' ? '\r' : ch === 'n' ? '\n' : ch,
  );
}

export function encodeMembership(m: Membership): string {
  const c = m.conversation;
  return c === undefined
    ? `${escapeValue(m.user)}\t0\t${escapeValue(m.group)}\t\t${m.line}\n`
    : `${escapeValue(m.user)}\t${c.type}\t${escapeValue(m.group)}\t${escapeValue(c.id)}\t${m.line}\n`;
}

export function encodeRejected(user: string, line: number): string {
  return `${escapeValue(user)}\tR\t\t\t${line}\n`;
}

/** The escaped user of an encoded line (its first field). */
export function encodedUser(line: string): string {
  return line.slice(0, line.indexOf('\t'));
}

/**
 * Finds the four TABs of the line `text[start, end)` (`end`: its LF, or the end of `text`) into
 * `tabs[0..3]`, so a caller can slice the fields out of a text of many lines without splitting it into
 * line strings first. Throws on a malformed line (a corrupted working file).
 */
export function findTabs(text: string, start: number, end: number, tabs: Int32Array): void {
  const a = text.indexOf('\t', start);
  const b = a < 0 ? -1 : text.indexOf('\t', a + 1);
  const c = b < 0 ? -1 : text.indexOf('\t', b + 1);
  const d = c < 0 ? -1 : text.indexOf('\t', c + 1);
  const e = d < 0 ? -1 : text.indexOf('\t', d + 1);
  if (a < 0 || b !== a + 2 || c < 0 || d < 0 || d >= end || (e !== -1 && e < end)) {
    throw new Error(
      `Malformed working-file line: ${JSON.stringify(text.slice(start, Math.min(end, start + 200)))}`,
    );
  }
  tabs[0] = a;
  tabs[1] = b;
  tabs[2] = c;
  tabs[3] = d;
}

/** The line number field `text[from, end)`: digits as the writer puts them (anything else as `Number` reads it). */
export function lineNumberAt(text: string, from: number, end: number): number {
  // Hand-rolled for the usual all-digit field: no string slice per line.
  let value = 0;
  for (let i = from; i < end; i++) {
    const digit = text.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return Number(text.slice(from, end));
    value = value * 10 + digit;
  }
  return from === end ? 0 : value;
}

/** A field of a byte string as text: UTF-8 decoded unless it is ASCII. */
export function fromBytes(raw: string): string {
  for (let i = 0; i < raw.length; i++) {
    if (raw.charCodeAt(i) > 127) return Buffer.from(raw, 'latin1').toString('utf8');
  }
  return raw;
}
