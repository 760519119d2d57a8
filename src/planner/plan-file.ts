import { createHash } from 'node:crypto';
import { rename } from 'node:fs/promises';
import {
  createTemp,
  discardTemp,
  forgetTemp,
  renameTarget,
  sweepStaleTemps,
  syncDirectory,
} from '../atomic-file.js';
import { SyncError } from '../errors.js';
import { ExternalSorter, type ExternalSortOptions } from './external-sort.js';
import { LineFileWriter } from './line-file.js';
import {
  ContentDigest,
  type PlanHeaderDraft,
  serializeDigestLine,
  serializeHeader,
  serializeSummary,
  serializeUserPlan,
} from './plan-file-format.js';
import type { RunMerge } from './sort-runs.js';
import type { PlanSummary } from './summary.js';
import type { UserPlan } from './types.js';

export {
  ContentDigest,
  createPlanHeader,
  PLAN_FORMAT,
  PLAN_VERSION,
  type PlanHeader,
  type PlanHeaderDraft,
  type PlanMade,
  type PlanTarget,
} from './plan-file-format.js';
export { isPlanFile, type PlanFile, readPlanFile } from './plan-file-read.js';

/** Where spills go and when; see {@link ExternalSortOptions} for the defaults. */
export type PlanFileWriterOptions = ExternalSortOptions;

/**
 * Writes a plan file (NDJSON, see PLAN-FORMAT.md): the header, one line per user in user-ID order
 * (code units) whatever order users are added in, and the summary. Bounded memory: users are
 * sorted with an external merge sort. The file appears only when complete (written to a temporary
 * name, fsynced, renamed). Always end with `finish()` or `abort()`: both remove the temporary files.
 */
export class PlanFileWriter {
  readonly #path: string;
  readonly #header: PlanHeaderDraft;
  readonly #sorter: ExternalSorter;
  readonly #content = new ContentDigest();
  #done = false;

  constructor(path: string, header: PlanHeaderDraft, options: PlanFileWriterOptions = {}) {
    this.#path = path;
    this.#header = header;
    this.#sorter = new ExternalSorter(options);
  }

  /** Sorted runs written to disk so far. */
  get spilledRuns(): number {
    return this.#sorter.spilledRuns;
  }

  async add(plan: UserPlan): Promise<void> {
    if (this.#done) throw new Error('PlanFileWriter: add() after finish() or abort()');
    this.#content.add(plan.desiredDigest);
    await this.#sorter.add(plan.user, serializeUserPlan(plan));
  }

  /**
   * Adds users planned elsewhere (e.g. on another thread): their records (user, serialized line,
   * {@link serializeUserPlan}) sorted and encoded with `RunBuilder` (sort-runs.ts), and the
   * {@link ContentDigest.sum} of their desired digests.
   */
  async addRun(run: Uint8Array, contentSum: string): Promise<void> {
    if (this.#done) throw new Error('PlanFileWriter: add() after finish() or abort()');
    this.#content.addSum(contentSum);
    await this.#sorter.addRun(run);
  }

  async finish(summary: PlanSummary): Promise<void> {
    if (this.#done) throw new Error('PlanFileWriter: finish() called twice');
    this.#done = true;
    let partial: string | undefined;
    let out: LineFileWriter | undefined;
    let merge: RunMerge | undefined;
    try {
      partial = createTemp(this.#path);
      // The last line holds the digest of every byte before it: apply refuses an edited plan whole.
      out = await LineFileWriter.create(partial, 0o600, { hash: createHash('sha256'), existing: true });
      await out.write(serializeHeader({ ...this.#header, inputDigest: this.#content.digest() }));
      // The users' lines go from the sorted runs to the file as bytes.
      merge = await this.#sorter.merged();
      let previous: string | undefined;
      for (;;) {
        let cursor = merge.next();
        if (cursor instanceof Promise) cursor = await cursor;
        if (cursor === undefined) break;
        const user = cursor.key;
        if (previous !== undefined && user <= previous) {
          if (user === previous) {
            throw new SyncError('INVALID_INPUT', `user ${user} was planned twice; each user must come once`, {
              user,
            });
          }
          throw new Error(`PlanFileWriter: a sorted run is out of order at user ${user}`);
        }
        previous = user;
        const full = out.writeBytes(cursor.line);
        if (full !== undefined) await full;
      }
      await out.write(serializeSummary(summary));
      await out.write(serializeDigestLine(out.digest()));
      const closing = out;
      out = undefined;
      await closing.close({ sync: true });
      await rename(partial, await renameTarget(this.#path));
      forgetTemp(partial);
      await syncDirectory(this.#path);
      await sweepStaleTemps(this.#path);
    } catch (err) {
      await out?.discard();
      if (partial !== undefined) await discardTemp(partial);
      throw wrapIo(err, this.#path);
    } finally {
      await merge?.close();
      await this.#sorter.dispose();
    }
  }

  /** Gives up: removes the temporary files. Harmless after `finish()`. */
  async abort(): Promise<void> {
    this.#done = true;
    await this.#sorter.dispose();
  }
}

/** Writes a whole plan file from user plans in any order; `summary` is read after the last user. */
export async function writePlanFile(
  path: string,
  header: PlanHeaderDraft,
  plans: AsyncIterable<UserPlan> | Iterable<UserPlan>,
  summary: PlanSummary | (() => PlanSummary),
  options: PlanFileWriterOptions = {},
): Promise<void> {
  const writer = new PlanFileWriter(path, header, options);
  try {
    for await (const plan of plans) await writer.add(plan);
    await writer.finish(typeof summary === 'function' ? summary() : summary);
  } catch (err) {
    throw wrapIo(err, path);
  } finally {
    await writer.abort();
  }
}

function wrapIo(err: unknown, path: string): unknown {
  if (
    err instanceof SyncError ||
    !(err instanceof Error) ||
    !('code' in err) ||
    typeof err.code !== 'string'
  ) {
    return err;
  }
  return new SyncError('IO', `cannot write plan file ${path}: ${err.message}`, { path }, { cause: err });
}
