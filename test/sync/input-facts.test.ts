import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inputFacts } from '../../src/sync/input-facts.js';
import { tempDir } from '../faults/fixtures.js';

/** One pass over an input (src/sync/input-facts.ts): its sha256, and its lines as a multiset. */
let dir: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  dir = await tempDir('input-facts');
});
afterAll(async () => {
  await dir?.remove();
});

let n = 0;
async function facts(text: string | Buffer) {
  const path = join(dir.path, `f${n++}.csv`);
  await writeFile(path, text);
  return inputFacts(path);
}

const line = fc
  .string({ unit: fc.constantFrom('a', 'b', ',', '1', 'é', '"', '\r'), maxLength: 12 })
  .filter((l) => !l.slice(0, -1).includes('\r'));

describe('inputFacts', () => {
  it('the sha256 and size of the bytes, whatever the chunking (a file over the 1 MiB buffer)', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024 + 7, 'ab,c\n');
    const f = await facts(big);
    expect(f.sha256).toBe(createHash('sha256').update(big).digest('hex'));
    expect(f.bytes).toBe(big.length);
    expect(f.lines?.count).toBe(Math.ceil((big.length - 5) / 5));
  });

  it('the same header and lines in any order: the same set; a changed, added, dropped or doubled line: another', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc
          .array(line, { minLength: 1, maxLength: 30 })
          .filter((ls) => ls.every((l) => (l.split('"').length - 1) % 2 === 0)),
        fc.integer({ min: 0, max: 1000 }),
        async (lines, seed) => {
          const shuffled = [...lines].sort(
            (a, b) => ((a.length * 31 + seed) % 7) - ((b.length * 31 + seed) % 7),
          );
          const a = await facts(`h,x\n${lines.join('\n')}\n`);
          const b = await facts(`h,x\n${shuffled.join('\n')}\n`);
          expect(a.lines).toBeDefined();
          expect(b.lines).toEqual(a.lines);
          const changed = await facts(`h,x\n${[...lines.slice(1), `${lines[0]}z`].join('\n')}\n`);
          expect(changed.lines?.sum).not.toBe(a.lines?.sum);
          const doubled = await facts(`h,x\n${[...lines, lines[0]].join('\n')}\n`);
          expect(doubled.lines).not.toEqual(a.lines);
          const header = await facts(`h,y\n${lines.join('\n')}\n`);
          expect(header.lines?.first).not.toBe(a.lines?.first);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('a last line without its LF counts as a line; the empty piece after a final LF does not', async () => {
    const a = await facts('h\nx\ny\n');
    const b = await facts('h\ny\nx');
    expect(b.lines).toEqual(a.lines);
    expect(a.lines?.count).toBe(2);
    // A blank line is a line.
    expect((await facts('h\nx\n\ny\n')).lines?.count).toBe(3);
    // CRLF lines keep their CR: the same set only with the same line ends.
    const crlf = await facts('h\r\nx\r\ny\r\n');
    expect(crlf.lines?.count).toBe(2);
    expect(crlf.lines?.sum).not.toBe(a.lines?.sum);
    expect((await facts('h\r\ny\r\nx\r\n')).lines).toEqual(crlf.lines);
  });

  it('no set when a record may span lines: an odd number of quotes on a line, or a CR not before an LF', async () => {
    expect((await facts('h\nu,"a\nb",1\n')).lines).toBeUndefined();
    expect((await facts('h\nu,"a ""b"" c",1\n')).lines).toBeDefined();
    expect((await facts('h\nu,a\rv,b\n')).lines).toBeUndefined();
    expect((await facts('h\rx\ny\n')).lines).toBeUndefined();
    expect((await facts('h\nx\r')).lines).toBeUndefined();
    expect((await facts('"h\nx\n')).lines).toBeUndefined();
  });
});
