import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { SyncError } from '../errors.js';
import type { FailedItem, UserWork } from '../executor/apply-user.js';
import { conversationKey, type DesiredUser } from '../model.js';
import { inShard } from '../planner/shard.js';
import {
  type InputScan,
  type ScanEvent,
  type StagedSegment,
  scanInput,
  segmentsUnit,
  stagedUsers,
} from '../reader/index.js';
import { createWorkDir, removeWorkDir } from '../work-dir.js';
import { mergeUsers, reportPlanned } from './apply-csv.js';
import { UserSelection } from './apply-selection.js';
import type { ApplyJobOptions, ApplyJobResult } from './apply-types.js';
import { applyOptions, openJobCheckpoint, runWrites, withJobFigures } from './apply-writes.js';
import type { FailuresSink } from './failures-file.js';
import { type PlanUsersOptions, planUsers } from './plan-users.js';

/** Stretches of staged rows handed over while the file is read: small, so calls start early. */
const STREAM_SEGMENT_BYTES = 64 * 1024;
/** Stretches decoded ahead of the executor (each at most about 64 KiB of rows). */
const STREAM_AHEAD = 4;

/** Refuses `--stream` where its rule does not hold (see {@link applyStreaming}). */
export function checkStreamOptions(options: ApplyJobOptions): void {
  const refuse = (why: string) => {
    throw new SyncError('USAGE', `--stream ${why}`);
  };
  if (options.mode !== 'merge') refuse('applies in merge mode only (mirror plans every user first)');
  if (options.state !== undefined) refuse('cannot be used with --state');
  if (options.strict === true) {
    refuse('cannot be used with --strict (it promises no write before the whole file was checked)');
  }
  if (options.maxInvalid !== undefined) {
    refuse('cannot be used with --max-invalid (it promises no write before the whole file was checked)');
  }
}

/**
 * The sha256 of a file's bytes (hex), as the reader's digest, and its physical lines (line feeds, and
 * a last line without one): what the progress's estimate of the users measures the stretches against.
 */
async function fileDigest(path: string): Promise<{ digest: string; lines: number }> {
  const hash = createHash('sha256');
  let lines = 0;
  let last = 10;
  try {
    for await (const chunk of createReadStream(path)) {
      const bytes = chunk as Buffer;
      hash.update(bytes);
      for (let at = bytes.indexOf(10); at !== -1; at = bytes.indexOf(10, at + 1)) lines++;
      if (bytes.length > 0) last = bytes[bytes.length - 1] as number;
    }
  } catch (error) {
    throw new SyncError('IO', `Cannot read ${path}: ${(error as Error).message}`, { path }, { cause: error });
  }
  return { digest: hash.digest('hex'), lines: last === 10 ? lines : lines + 1 };
}

/**
 * The users of the file while it is read: each stretch of grouped rows the reader reports is decoded
 * at once (before the reader goes on, so the stretch is never read while the reader redistributes it)
 * and queued, at most {@link STREAM_AHEAD} stretches ahead. When the rows turn out not grouped, the
 * queue is dropped and nothing more is given out: those users come again from the partitions.
 */
class SegmentFeed {
  /** Users of the stretches so far that are this run's (of its shard), and the last line they reached. */
  readonly seen = { users: 0, line: 0 };
  readonly #mine: (user: string) => boolean;
  #queue: DesiredUser[][] = [];
  #ungrouped = false;
  #ended = false;
  #wake: (() => void) | undefined;
  #room: (() => void) | undefined;

  constructor(mine: (user: string) => boolean) {
    this.#mine = mine;
  }

  get ungrouped(): boolean {
    return this.#ungrouped;
  }

  readonly onEvent = async (event: ScanEvent, failures: FailuresSink): Promise<void> => {
    if (event.type === 'header') failures.open(event.header);
    else if (event.type === 'ungrouped') {
      this.#ungrouped = true;
      this.#queue = [];
      this.#notify();
    } else if (!this.#ungrouped) await this.#add(event.segment);
  };

  async #add(segment: StagedSegment): Promise<void> {
    const unit = segmentsUnit([segment]);
    if (unit === undefined) return;
    const users: DesiredUser[] = [];
    for await (const user of stagedUsers(unit)) {
      users.push(user);
      if (this.#mine(user.user)) this.seen.users++;
      for (const line of user.lines) if (line > this.seen.line) this.seen.line = line;
    }
    while (this.#queue.length >= STREAM_AHEAD && !this.#ungrouped && !this.#ended) {
      await new Promise<void>((resolve) => {
        this.#room = resolve;
      });
    }
    if (this.#ungrouped || this.#ended) return;
    this.#queue.push(users);
    this.#notify();
  }

  /** The scan ended (or failed): no more stretches. */
  end(): void {
    this.#ended = true;
    this.#notify();
  }

  #notify(): void {
    this.#wake?.();
    this.#wake = undefined;
    this.#room?.();
    this.#room = undefined;
  }

  /** The users of the stretches, in file order, until the scan ends or the rows turn out not grouped. */
  async *users(): AsyncGenerator<DesiredUser> {
    for (;;) {
      if (this.#ungrouped) return;
      const batch = this.#queue.shift();
      if (batch === undefined) {
        if (this.#ended) return;
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
        continue;
      }
      this.#room?.();
      this.#room = undefined;
      for (const user of batch) {
        // A user not handed over yet comes again, whole, from the partitions.
        if (this.#ungrouped) return;
        yield user;
      }
    }
  }
}

/**
 * The failures file of a streamed run: while users are given out from the stretches, the failed rows
 * written are remembered (by user, group, conversation and action), so that when the file turns out
 * not grouped and every user comes again from the partitions, a row already written is not written
 * twice (a user over a limit, one whose state could not be read, an item that failed again). Once the
 * scan ended with the rows grouped, no user comes again and nothing more is remembered.
 */
class FailuresOnce {
  readonly #sink: FailuresSink;
  #written: Set<string> | undefined = new Set();

  constructor(sink: FailuresSink) {
    this.#sink = sink;
  }

  writeFailed(item: FailedItem): void {
    const written = this.#written;
    if (written !== undefined) {
      const c = item.conversation;
      const key = `${item.user}\0${item.group}\0${c === undefined ? '' : conversationKey(c)}\0${item.action}`;
      if (written.has(key)) return;
      written.add(key);
    }
    this.#sink.writeFailed(item);
  }

  /** No user comes again (the rows were grouped): forgets what was written. */
  forget(): void {
    this.#written = undefined;
  }
}

/**
 * `cgsync apply input.csv --stream` (merge mode, no `--state`, `--strict` or `--max-invalid`): calls
 * start while the file is still read.
 *
 * - The file's sha256 is read first (a quick pass over the bytes), so the checkpoint has its identity
 *   before the first call; the scan's own digest must equal it at the end (else the file changed while
 *   it was read: the run fails).
 * - While the rows are grouped by user, each user is planned and applied once the next user started
 *   (its rows so far are all it has, if the file is grouped).
 * - If a later row reopens an earlier user (the file is not grouped after all), no more users are given
 *   out from the stretches; once the file was read and every user already given out has settled, every
 *   user of the file comes again from the partitions, whole, and is `recheck`ed: its state is read
 *   before any write and only what is missing is done, whatever the checkpoint says (a user done by an
 *   earlier run may have been applied from a part of its rows too). So the end state is the file's.
 * - A whole-file problem found later (invalid UTF-8, broken quoting, a row too long) stops the run
 *   (fatal, exit 1) after the calls already made: those wrote only rows of the file before the fault.
 */
export async function applyStreaming(
  options: ApplyJobOptions,
  failures: FailuresSink,
): Promise<ApplyJobResult> {
  checkStreamOptions(options);
  const dir = await createWorkDir(tmpdir());
  try {
    await options.onPhase?.('scan');
    const { digest, lines } = await fileDigest(options.input);
    const checkpoint = await openJobCheckpoint(options, digest);
    const selection = new UserSelection(undefined, checkpoint, { mode: options.mode, dir });
    const feed = new SegmentFeed((user) => inShard(user, options.shard));
    // The scan stops with the run (a fatal error, a signal): it may wait for room that never comes.
    const stopScan = new AbortController();
    const scanSignal =
      options.signal === undefined ? stopScan.signal : AbortSignal.any([options.signal, stopScan.signal]);
    const scanning = scanInput(options.input, {
      tmpDir: dir,
      segmentBytes: STREAM_SEGMENT_BYTES,
      ...(options.groupNameLimit === undefined ? {} : { groupNameMaxBytes: options.groupNameLimit }),
      signal: scanSignal,
      onRejected: (rejection) => failures.writeRejected(rejection),
      onEvent: (event) => feed.onEvent(event, failures),
    }).finally(() => feed.end());
    let scanGrouped = false;
    // Handled here so that a failure while the executor is busy is not unhandled; rethrown below.
    const scanned: Promise<{ scan: InputScan } | { error: unknown }> = scanning.then(
      (scan) => {
        scanGrouped = scan.summary.grouped;
        return { scan };
      },
      (error: unknown) => ({ error }),
    );
    let scan: InputScan | undefined;
    const planOptions: PlanUsersOptions = {
      mode: options.mode,
      assumeEmpty: options.assumeEmpty,
      api: options.api,
      scheduler: options.scheduler,
      ...(options.shard === undefined ? {} : { shard: options.shard }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      ...(options.onWarning === undefined ? {} : { onWarning: options.onWarning }),
    };
    const failed = new FailuresOnce(failures);
    const report = (p: Parameters<typeof reportPlanned>[0]) => reportPlanned(p, failed);
    let givenOut = 0;
    let settled = 0;
    // Users done by an earlier run of this checkpoint count as done from the start (its identity is
    // this file's and shard's: they are users of it).
    const doneBefore = (): number => Math.max(selection.resumedDone, checkpoint.doneUsers);
    /** Set when the file turned out not grouped and its users were counted after the scan. */
    let countedTotal: number | undefined;
    const total = (): { readonly users?: number; readonly estimated?: boolean } => {
      if (countedTotal !== undefined) return { users: countedTotal };
      if (feed.ungrouped) return {};
      // Grouped and read to the end: every user of the file was in the stretches.
      if (scanGrouped) return { users: feed.seen.users - selection.resumedDone + doneBefore() };
      if (feed.seen.line === 0) return {};
      // While the file is read: the users so far, in proportion to the lines so far (an estimate),
      // never below what is known to come.
      const known = feed.seen.users - selection.resumedDone + doneBefore();
      const scaled = Math.round((feed.seen.users * Math.max(lines, feed.seen.line)) / feed.seen.line);
      return { users: Math.max(known, scaled), estimated: true };
    };
    let onSettled: (() => void) | undefined;
    const settle = () => {
      settled++;
      onSettled?.();
    };

    async function* users(): AsyncGenerator<UserWork> {
      const streamed = planUsers(feed.users(), { ...planOptions, skip: selection.skip });
      for await (const work of mergeUsers(streamed, report, options.signal)) {
        givenOut++;
        yield work;
      }
      const outcome = await scanned;
      if ('error' in outcome) throw outcome.error;
      scan = outcome.scan;
      if (scan.summary.inputDigest !== digest) {
        await scan.dispose();
        throw new SyncError(
          'INVALID_INPUT',
          `${options.input} changed while it was read (its sha256 is not the one the run started with)`,
          { path: options.input },
        );
      }
      failures.open(scan.summary.header);
      if (!feed.ungrouped) {
        failed.forget();
        await scan.dispose();
        return;
      }
      // Every user of the file (of the shard) comes again, after those given out so far.
      let again = 0;
      await scan.eachUser((user) => {
        if (inShard(user, options.shard)) again++;
      }, options.signal);
      countedTotal = givenOut + doneBefore() + again;
      // Not grouped: the users given out so far settle first (also when the run stops: they are left
      // unfinished), so no user is ever applied twice at once.
      while (settled < givenOut) {
        await new Promise<void>((resolve) => {
          onSettled = resolve;
        });
        onSettled = undefined;
      }
      const whole = planUsers(scan.users(), planOptions);
      for await (const work of mergeUsers(whole, report, options.signal)) yield { ...work, recheck: true };
    }

    const sink = options.onPlanned?.(undefined);
    const progress = withJobFigures(sink, (stats) => {
      const { users, estimated } = total();
      return {
        ...stats,
        usersAlreadyDone: stats.usersAlreadyDone + doneBefore(),
        ...(users === undefined ? {} : { usersTotal: users }),
        ...(estimated === true ? { usersTotalEstimated: true } : {}),
      };
    });
    const run = await runWrites(options, users(), checkpoint, {
      ...applyOptions(options, failed, undefined, progress),
      onUserSettled: settle,
    });
    stopScan.abort();
    feed.end();
    const outcome = await scanned;
    if ('scan' in outcome && scan === undefined) await outcome.scan.dispose();
    const summary = scan?.summary ?? ('scan' in outcome ? outcome.scan.summary : undefined);
    return {
      run:
        selection.resumedDone === 0
          ? run
          : { ...run, users: { ...run.users, alreadyDone: run.users.alreadyDone + selection.resumedDone } },
      staleUsers: 0,
      replannedUsers: 0,
      ...(summary === undefined ? {} : { scan: summary }),
      rejectedRows: summary?.rejectedRows ?? 0,
      unchangedUsers: 0,
      failuresWritten: await failures.close(),
      stateSaved: false,
    };
  } finally {
    await removeWorkDir(dir);
  }
}
