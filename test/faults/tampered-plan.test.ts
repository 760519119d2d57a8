import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run.js';
import { parseConversationKey } from '../../src/model.js';
import { assignOperationIds, type DraftOperation } from '../../src/planner/operation-id.js';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js';
import { memoryIo } from '../helpers/io.js';
import { tempDir, writeFaultCsv } from './fixtures.js';

/**
 * Issue 12, item 4: a plan was checked while it streamed, so an edit near the end of a large plan was
 * found after hundreds of writes. The whole file is now validated first (its digest line, every line's
 * structure and ids, every operation against the documented limits): a tampered plan is refused with
 * exit 1 naming the line, before a single call.
 */
const USERS = 2000;

interface UserLine {
  user: string;
  operations: { id: string; kind: string; group: string; add?: string[]; remove?: string[] }[];
}

/** The ids the planner gives `line`'s operations (so an edit keeps the line self-consistent). */
function reassignIds(line: UserLine): void {
  const drafts = line.operations.map(
    (op): DraftOperation =>
      op.kind === 'delete'
        ? { kind: 'delete', user: line.user, group: op.group }
        : op.kind === 'create'
          ? {
              kind: 'create',
              user: line.user,
              group: op.group,
              add: (op.add ?? []).map(parseConversationKey),
            }
          : {
              kind: 'update',
              user: line.user,
              group: op.group,
              add: (op.add ?? []).map(parseConversationKey),
              remove: (op.remove ?? []).map(parseConversationKey),
            },
  );
  assignOperationIds(drafts).forEach((op, i) => {
    (line.operations[i] as { id: string }).id = op.id;
  });
}

/** Lines with a fresh digest line: what a forger who knows the format would write. */
function withDigest(lines: readonly string[]): string {
  const body = `${lines.slice(0, -1).join('\n')}\n`;
  return `${body}{"digest":"${createHash('sha256').update(body).digest('hex')}"}\n`;
}

describe('a tampered plan is refused whole, before the first write', () => {
  let t: TestEmulator;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let lines: string[];
  /** The line of a user near the end of the file, with a create. */
  let at: number;

  beforeAll(async () => {
    dir = await tempDir('tampered');
    await writeFaultCsv(join(dir.path, 'export.csv'), { users: USERS, rowsPerUser: 3, seed: 8 });
    const io = memoryIo({}, dir.path);
    expect(await runCli(['plan', 'export.csv', '--assume-empty', '--out', 'good.ndjson'], io), io.err()).toBe(
      0,
    );
    lines = (await readFile(join(dir.path, 'good.ndjson'), 'utf8')).split('\n').slice(0, -1);
    expect(lines).toHaveLength(USERS + 3);
    at = lines.length - 5;
    while (!lines[at]?.includes('"kind":"create"')) at--;
    t = await startTestEmulator({ rateLimit: 5000 });
  });
  afterAll(async () => {
    await t?.close();
    await dir?.remove();
  });

  const edit = (change: (line: UserLine) => void): string[] => {
    const copy = [...lines];
    const line = JSON.parse(copy[at] as string) as UserLine;
    change(line);
    copy[at] = JSON.stringify(line);
    return copy;
  };
  const firstCreate = (line: UserLine) =>
    line.operations.find((o) => o.kind === 'create') as UserLine['operations'][number];

  const cases: readonly { name: string; text: () => string; message: () => RegExp }[] = [
    {
      name: 'a conversation changed (its id no longer matches)',
      text: () =>
        `${edit((l) => {
          firstCreate(l).add = ['1:intruder'];
        }).join('\n')}\n`,
      message: () =>
        new RegExp(`line ${at + 1}: operations\\[\\d+\\]\\.id: .* does not match the operation's content`),
    },
    {
      name: 'a conversation changed and its id recomputed',
      text: () =>
        `${edit((l) => {
          firstCreate(l).add = ['1:intruder'];
          reassignIds(l);
        }).join('\n')}\n`,
      message: () => /last line: the digest does not match the file: it was edited or damaged/,
    },
    {
      name: 'a delete slipped into a merge plan, ids and digest forged',
      text: () =>
        withDigest(
          edit((l) => {
            l.operations.unshift({ id: '', kind: 'delete', group: 'Family' });
            reassignIds(l);
          }),
        ),
      message: () => new RegExp(`line ${at + 1}: operations\\[0\\]\\.kind: a delete in a merge plan`),
    },
    {
      name: '150 conversations in one create, ids and digest forged',
      text: () =>
        withDigest(
          edit((l) => {
            firstCreate(l).add = Array.from({ length: 150 }, (_, i) => `1:x${String(i).padStart(3, '0')}`);
            reassignIds(l);
          }),
        ),
      message: () => new RegExp(`line ${at + 1}: operations\\[\\d+\\]: 150 items, the limit is 100 per call`),
    },
    {
      name: 'the last user line removed',
      text: () => withDigest([...lines.slice(0, -3), ...lines.slice(-2)]),
      message: () => /the file holds 1999 users but its summary says 2000/,
    },
  ];

  it.each(cases)(
    '$name: exit 1 naming the line, not a single call, no checkpoint',
    async ({ name, text, message }) => {
      t.emulator.reset();
      const file = `${name.replaceAll(/\W+/g, '-')}.ndjson`;
      await writeFile(join(dir.path, file), text());
      const io = memoryIo(t.env, dir.path);
      const code = await runCli(
        ['apply', file, '--assume-empty', '--checkpoint', `${file}.cp`, '--json'],
        io,
      );
      expect(code, io.err()).toBe(1);
      expect(io.err()).toMatch(message());
      expect(JSON.parse(io.out())).toMatchObject({
        status: 'fatal',
        error: expect.stringMatching(message()),
      });
      const stats = t.emulator.stats().endpoints;
      expect(Object.values(stats).reduce((n, e) => n + e.accepted + e.rateLimited, 0)).toBe(0);
      expect(existsSync(join(dir.path, `${file}.cp`))).toBe(false);
    },
  );

  it('the untouched plan applies (one shard of it)', async () => {
    t.emulator.reset();
    const io = memoryIo(t.env, dir.path);
    const args = [
      'apply',
      'good.ndjson',
      '--assume-empty',
      '--checkpoint',
      'good.cp',
      '--shard',
      '0/40',
      '--json',
    ];
    expect(await runCli([...args, '--rate', '5000'], io), io.err()).toBe(0);
    expect(JSON.parse(io.out()).users.done).toBeGreaterThan(20);
  });
});
