import { Writable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import {
  createProgress,
  createReadProgress,
  formatProgressLine,
  formatSummary,
} from '../../src/cli/progress.js';
import { completionOf, etaMs, formatReadLine, RateMeter } from '../../src/cli/progress-text.js';
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
  endpointCalls: {
    create_contact_group: 0,
    update_contact_group: 0,
    search_contact_group: 0,
    del_contact_group: 0,
    get_contact_group: 0,
  },
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
  it('shows done/total, calls per second per endpoint (not their sum), ETA and errors', () => {
    const s = stats();
    const ops = completionOf(s, { ops: 3604, users: 900 });
    expect(ops).toEqual({ done: 1802, total: 3604, unit: 'ops' });
    expect(
      formatProgressLine(
        s,
        { get_contact_group: 150, create_contact_group: 190, del_contact_group: 0 },
        ops,
        9000,
      ),
    ).toBe(
      '[##########..........] 50% 1802/3604 ops | get 150/s, create 190/s | ETA 9s | users 400 done 1 failed | errors 2 ops, 3 calls',
    );
    expect(formatProgressLine(s, {}, undefined, undefined)).toBe(
      '1802 ops | 0 calls/s | users 400 done 1 failed | errors 2 ops, 3 calls',
    );
  });

  it("a CSV in merge mode: progress against the input's users (unchanged and done-before count as settled)", () => {
    const s = stats({ usersDone: 300, usersFailed: 20, usersAlreadyDone: 30, usersUnchanged: 50 });
    const c = completionOf(s, { users: 1000 });
    expect(c).toEqual({ done: 400, total: 1000, unit: 'users' });
    expect(etaMs(c, 100)).toBe(6000);
    expect(etaMs(c, 0)).toBeUndefined();
    // Users that vanished from the input come on top: never past 100%.
    expect(completionOf(stats({ usersDone: 1200, usersFailed: 0 }), { users: 1000 })).toEqual({
      done: 1200,
      total: 1200,
      unit: 'users',
    });
    expect(completionOf(s, {})).toBeUndefined();
  });

  it("the run's own total of users beats the one known at the start; an estimate says so; never past 100%", () => {
    const s = stats({ usersDone: 300, usersFailed: 0, usersTotal: 600 });
    expect(completionOf(s, { users: 1000 })).toEqual({ done: 300, total: 600, unit: 'users' });
    const estimated = completionOf({ ...s, usersTotalEstimated: true }, {});
    expect(estimated).toEqual({ done: 300, total: 600, unit: 'users', estimated: true });
    expect(formatProgressLine(s, {}, estimated, undefined)).toMatch(/^\[##########\.+\] 50% 300\/~600 users/);
    // More operations done than planned (never expected): 100%, not more, and no ETA.
    const ops = completionOf(stats({ opsOk: 130, opsFailed: 0 }), { ops: 120 });
    expect(ops).toEqual({ done: 130, total: 130, unit: 'ops' });
    expect(etaMs(ops, 50)).toBeUndefined();
    expect(etaMs({ done: 1, total: 2, unit: 'users' }, Number.NaN)).toBeUndefined();
    expect(etaMs({ done: 1, total: 2, unit: 'users' }, Number.MIN_VALUE)).toBeUndefined();
  });

  it('the read phase: users read / total, users per second, ETA', () => {
    expect(formatReadLine('reading the app', { read: 2500, total: 10_000 }, 250)).toBe(
      'reading the app: [#####...............] 25% 2500/10000 users | 250 users/s | ETA 30s',
    );
    expect(formatReadLine('reading the app', { read: 2500 }, 250)).toBe(
      'reading the app: 2500 users | 250 users/s',
    );
  });

  it('rates per counter over a sliding window, from the times given (no clock)', () => {
    const meter = new RateMeter(5000);
    expect(meter.add(0, { a: 0, b: 0 })).toEqual({ a: 0, b: 0 });
    expect(meter.add(1000, { a: 200, b: 10 })).toEqual({ a: 200, b: 10 });
    expect(meter.add(2000, { a: 400, b: 20 })).toEqual({ a: 200, b: 10 });
    // A burst long ago leaves the window: the rate is the recent one.
    meter.add(6000, { a: 400, b: 20 });
    expect(meter.add(12_000, { a: 400, b: 80 })).toEqual({ a: 0, b: 10 });
  });

  it('summarises a run, and tells how to resume an interrupted one', () => {
    expect(formatSummary(result())).toBe(
      [
        'apply finished in 1m05s',
        'users: 40 done, 1 failed, 2 skipped, 5 already done, 0 unfinished',
        'operations: 118 ok, 2 failed (1 settled by reading the state)',
        'create_contact_group: 120 calls, 1.8 calls/s on average, 4 retries, 0 rate-limited, 0 failed attempts',
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
    const progress = createProgress({ stream: sink, totals: { ops: 3604 } });
    let elapsed = 0;
    progress.start(() => {
      elapsed += 1000;
      return stats({
        elapsedMs: elapsed,
        calls: elapsed / 5,
        opsOk: 1800 + elapsed / 5,
        endpointCalls: { ...stats().endpointCalls, create_contact_group: elapsed / 5 },
      });
    });
    await new Promise((r) => setTimeout(r, 1100));
    progress.finish(result());
    const CLEAR = '\r\u001b[K';
    const draws = sink.text.split(CLEAR).slice(1);
    expect(sink.text.startsWith(CLEAR)).toBe(true);
    expect(draws.length).toBeGreaterThanOrEqual(3);
    expect(draws[0]).toMatch(/^\[#+\.+\] 5\d% \d+\/3604 ops \| /);
    expect(draws.at(-2)).toMatch(/\| create 200\/s \| ETA \d+s \|/);
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

  it('off a terminal, JSON lines at the interval: per-endpoint rates, total, percent, ETA', () => {
    vi.useFakeTimers();
    try {
      const sink = new Sink(false);
      const progress = createProgress({
        stream: sink,
        logger: createLogger({ destination: sink }),
        totals: { users: 1000 },
        intervalMs: 2000,
      });
      let elapsed = 0;
      progress.start(() => {
        elapsed += 2000;
        const n = elapsed / 1000;
        return stats({
          elapsedMs: elapsed,
          usersDone: n * 50,
          usersFailed: 0,
          endpointCalls: {
            ...stats().endpointCalls,
            get_contact_group: n * 150,
            create_contact_group: n * 100,
          },
        });
      });
      vi.advanceTimersByTime(1999);
      expect(sink.text).toBe('');
      vi.advanceTimersByTime(4001);
      const lines = sink.text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { msg: string; progress: Record<string, unknown> });
      expect(lines).toHaveLength(3);
      expect(lines[2]?.progress).toMatchObject({
        done: 300,
        total: 1000,
        unit: 'users',
        percent: 30,
        etaSeconds: 14,
        callsPerSecond: { get_contact_group: 150, create_contact_group: 100 },
        calls: { get_contact_group: 900, create_contact_group: 600 },
      });
      progress.stop();
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('createReadProgress', () => {
  it('nothing before the first user; then users read / total, users per second and ETA at the interval', () => {
    vi.useFakeTimers();
    try {
      const sink = new Sink(false);
      let now = 0;
      const display = createReadProgress('reading the app', {
        stream: sink,
        logger: createLogger({ destination: sink }),
        intervalMs: 1000,
        now: () => now,
      });
      now = 1000;
      vi.advanceTimersByTime(1000);
      expect(sink.text).toBe('');
      display.update({ read: 200, total: 1000 });
      now = 2000;
      vi.advanceTimersByTime(1000);
      const line = JSON.parse(sink.text.trim()) as { msg: string; read: Record<string, unknown> };
      expect(line.msg).toBe('reading the app');
      expect(line.read).toEqual({ users: 200, total: 1000, percent: 20, usersPerSecond: 100, etaSeconds: 8 });
      display.stop();
      now = 3000;
      vi.advanceTimersByTime(5000);
      expect(sink.text.trim().split('\n')).toHaveLength(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('on a terminal, one redrawn line, cleared when stopped', () => {
    vi.useFakeTimers();
    try {
      const sink = new Sink(true);
      let now = 0;
      const display = createReadProgress('reading the app', { stream: sink, now: () => now });
      display.update({ read: 50 });
      now = 250;
      vi.advanceTimersByTime(250);
      display.stop();
      expect(sink.text).toBe('\r\u001b[Kreading the app: 50 users | 200 users/s\r\u001b[K');
    } finally {
      vi.useRealTimers();
    }
  });
});
