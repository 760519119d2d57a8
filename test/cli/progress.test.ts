import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createProgress, formatProgressLine, formatSummary } from '../../src/cli/progress.js';
import { CallStats } from '../../src/executor/rate/stats.js';
import type { LiveStats, RunResult } from '../../src/executor/run-apply.js';
import { createLogger } from '../../src/log.js';

const stats = (over: Partial<LiveStats> = {}): LiveStats => ({
  elapsedMs: 10_000,
  calls: 1900,
  failures: 3,
  opsOk: 1800,
  opsFailed: 2,
  usersDone: 400,
  usersFailed: 1,
  usersSkipped: 0,
  usersAlreadyDone: 0,
  ...over,
});

function result(over: Partial<RunResult> = {}): RunResult {
  const endpoints = new CallStats();
  endpoints.of('create_contact_group').calls = 120;
  endpoints.of('create_contact_group').retries = 4;
  return {
    interrupted: false,
    durationMs: 65_000,
    users: { done: 40, failed: 1, skipped: 2, alreadyDone: 5, unfinished: 0 },
    operations: { ok: 118, failed: 2, reconciled: 1 },
    endpoints: endpoints.snapshot(),
    failedItems: [],
    failedItemsTotal: 3,
    ...over,
  };
}

class Sink extends Writable {
  text = '';
  isTTY: boolean;
  constructor(tty: boolean) {
    super();
    this.isTTY = tty;
  }
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

describe('progress text', () => {
  it('shows done/total, calls/s, ETA and errors', () => {
    expect(formatProgressLine(stats(), 190, 3604)).toBe(
      '[##########..........] 50% 1802/3604 ops | 190 calls/s | ETA 9s | users 400 done 1 failed | errors 2 ops, 3 calls',
    );
    expect(formatProgressLine(stats(), 0)).toBe(
      '1802 ops | 0 calls/s | users 400 done 1 failed | errors 2 ops, 3 calls',
    );
  });

  it('summarises a run, and tells how to resume an interrupted one', () => {
    expect(formatSummary(result())).toBe(
      [
        'apply finished in 1m05s',
        'users: 40 done, 1 failed, 2 skipped, 5 already done, 0 unfinished',
        'operations: 118 ok, 2 failed (1 settled by reading the state)',
        'create_contact_group: 120 calls, 4 retries, 0 rate-limited, 0 failed attempts',
        'failed items: 3',
        '',
      ].join('\n'),
    );
    const text = formatSummary(result({ interrupted: true }));
    expect(text).toMatch(/^apply interrupted/);
    expect(text).toMatch(/resume with the same command and --checkpoint file/);
    // The cause is the caller's last line (one `error:` line, after everything else it prints).
    const fatal = formatSummary(result({ fatal: new Error('boom') }));
    expect(fatal).toMatch(/^apply stopped by an error/);
    expect(fatal).not.toContain('boom');
  });
});

describe('createProgress', () => {
  it('redraws one line on a terminal and clears it before the summary', async () => {
    const sink = new Sink(true);
    const progress = createProgress({ stream: sink, totalOps: 3604, intervalMs: 5 });
    let elapsed = 0;
    progress.start(() => {
      elapsed += 1000;
      return stats({ elapsedMs: elapsed, calls: elapsed / 5 });
    });
    await new Promise((r) => setTimeout(r, 40));
    progress.finish(result());
    const CLEAR = '\r\u001b[K';
    const draws = sink.text.split(CLEAR).slice(1);
    expect(sink.text.startsWith(CLEAR)).toBe(true);
    expect(draws.length).toBeGreaterThanOrEqual(3);
    expect(draws[0]).toMatch(/^\[#+\.+\] 50% 1802\/3604 ops \| /);
    expect(draws.at(-2)).toMatch(/\| 200 calls\/s \| ETA 9s \|/);
    // Never scrolls: every draw is one line without a newline; the summary comes after a clear.
    for (const draw of draws.slice(0, -1)) expect(draw).not.toContain('\n');
    expect(draws.at(-1)).toMatch(/^apply finished in 1m05s\n/);
  });

  it('logs JSON lines when not on a terminal, and the summary as one', async () => {
    const sink = new Sink(false);
    const progress = createProgress({
      stream: sink,
      logger: createLogger({ destination: sink }),
      intervalMs: 5,
    });
    progress.start(() => stats());
    await new Promise((r) => setTimeout(r, 30));
    progress.finish(result({ interrupted: true }));
    const lines = sink.text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(lines[0]).toMatchObject({ msg: 'apply progress', progress: { opsOk: 1800 } });
    expect(lines.at(-1)).toMatchObject({
      msg: 'apply finished',
      summary: { interrupted: true, failedItemsTotal: 3 },
    });
  });
});
