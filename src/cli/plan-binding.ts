import { open } from 'node:fs/promises';
import { SyncError } from '../errors.js';
import type { Mode } from '../model.js';
import { type PlanHeader, readPlanFile } from '../planner/plan-file.js';
import { parseShard, type Shard } from '../planner/shard.js';
import { formatMaxDelete, type MaxDelete, parseMaxDelete } from '../sync/guard.js';
import { describeTarget, type Target } from './config.js';

/**
 * When a plan is made: `SOURCE_DATE_EPOCH` (seconds since 1970, the reproducible-builds convention)
 * when set, so that the same input and options give a byte-identical plan; otherwise now. ISO 8601, UTC.
 */
export function madeAt(
  env: Readonly<Record<string, string | undefined>>,
  now: () => Date = () => new Date(),
): string {
  const epoch = env.SOURCE_DATE_EPOCH;
  if (epoch !== undefined && /^\d{1,12}$/.test(epoch.trim())) {
    return new Date(Number(epoch.trim()) * 1000).toISOString();
  }
  return now().toISOString();
}

/**
 * The header of a plan file, or undefined when `path` is not one (a CSV; a missing file is reported
 * by the reader). A plan file that is damaged is refused here, naming the line.
 */
export async function readPlanHeaderIfAny(path: string): Promise<PlanHeader | undefined> {
  let start: string;
  try {
    const handle = await open(path, 'r');
    try {
      const { buffer, bytesRead } = await handle.read(Buffer.alloc(64), 0, 64, 0);
      start = buffer.subarray(0, bytesRead).toString('utf8');
    } finally {
      await handle.close();
    }
  } catch {
    return undefined;
  }
  if (!start.startsWith('{"format":"cgsync-plan"')) return undefined;
  return (await readPlanFile(path)).header;
}

/** The options of `apply` a plan file decides. */
export interface PlanBoundOptions {
  mode: Mode;
  assumeEmpty?: boolean;
  maxDelete?: MaxDelete;
  shard?: Shard;
  groupNameLimit?: number;
}

/**
 * `apply plan.ndjson` takes its options from the plan: its mode, `--assume-empty`, `--shard` (a plan
 * made for a shard), `--max-delete` (mirror) and `--group-name-limit`. A flag the user gave
 * (`explicit`) that says otherwise is refused, naming both, before anything is called; a flag that
 * agrees is fine. `--shard` with a plan made for every user applies that shard of it.
 */
export function bindPlanOptions<T extends PlanBoundOptions>(
  header: PlanHeader,
  args: T,
  explicit: ReadonlySet<string>,
  planPath: string,
): T {
  const conflicts: string[] = [];
  const conflict = (flag: string, given: string, recorded: string): void => {
    conflicts.push(`${flag} ${given} conflicts with the plan's ${flag} ${recorded}`);
  };
  const bound: T = { ...args, mode: header.mode };
  if (explicit.has('mode') && args.mode !== header.mode) conflict('--mode', args.mode, header.mode);

  if (header.assumeEmpty) bound.assumeEmpty = true;
  else delete bound.assumeEmpty;
  if (args.assumeEmpty === true && !header.assumeEmpty) {
    conflicts.push('--assume-empty conflicts with the plan, which was made by reading the app');
  }

  // A plan made for one shard applies to that shard; a whole plan may be applied a shard at a time.
  const recordedShard = header.options.shard;
  if (typeof recordedShard === 'string') {
    bound.shard = parseShard(recordedShard);
    if (explicit.has('shard') && args.shard !== undefined) {
      const given = `${args.shard.index}/${args.shard.count}`;
      if (given !== recordedShard) conflict('--shard', given, recordedShard);
    }
  }

  const recordedMax = header.options.maxDelete;
  if (typeof recordedMax === 'string') bound.maxDelete = parseMaxDelete(recordedMax);
  if (explicit.has('maxDelete') && args.maxDelete !== undefined) {
    const given = formatMaxDelete(args.maxDelete);
    if (typeof recordedMax === 'string' && given !== formatMaxDelete(parseMaxDelete(recordedMax))) {
      conflict('--max-delete', given, recordedMax);
    }
  }

  const recordedLimit = header.options.groupNameLimit;
  if (typeof recordedLimit === 'number') bound.groupNameLimit = recordedLimit;
  if (
    explicit.has('groupNameLimit') &&
    typeof recordedLimit === 'number' &&
    args.groupNameLimit !== recordedLimit
  ) {
    conflict('--group-name-limit', String(args.groupNameLimit), String(recordedLimit));
  }

  if (conflicts.length > 0) {
    throw new SyncError(
      'USAGE',
      `${planPath} is a plan file, and apply takes its options from it: ${conflicts.join('; ')}. Leave the flag out to use the plan's, or make a new plan with it (cgsync plan --out); nothing was written and no call was made`,
      { path: planPath },
    );
  }
  return bound;
}

/**
 * Refuses to apply a plan to another app or service than the one it was made for (SDKAppID or host
 * differ), before any call. A plan that records no target (made with `--assume-empty` and nothing
 * configured, or by an older cgsync) is allowed, with a warning.
 */
export function checkPlanTarget(
  header: PlanHeader,
  target: Target,
  planPath: string,
  warn: (message: string) => void,
): void {
  const recorded = header.made?.target;
  if (recorded === undefined) {
    warn(
      `${planPath} records no target (made without one configured): applying it to ${describeTarget(target)}`,
    );
    return;
  }
  if (recorded.sdkAppId !== target.sdkAppId || recorded.host !== target.host) {
    throw new SyncError(
      'CONFIG',
      `${planPath} was made for ${describeTarget(recorded)}, but this run targets ${describeTarget(target)}: make a new plan against this target (cgsync plan --out); nothing was written and no call was made`,
      { path: planPath },
    );
  }
}
