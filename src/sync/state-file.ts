import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { commitTemp, createTemp, discardTemp } from '../atomic-file.js';
import { SyncError } from '../errors.js';
import type { Mode } from '../model.js';
import { LineFileWriter } from '../planner/line-file.js';
import { escapeValue, unescapeValue, userOrderKey, userOrderKeyEscaped } from '../reader/index.js';
import { describeTarget, type Target } from './connection.js';
import { fileLineBatches, fileLines } from './line-reader.js';

/**
 * The `--state` snapshot file, version 2 (see STATE-FORMAT.md in this folder): one JSON header line, one
 * line per user in the canonical order of users (src/reader/users/user-order.ts), one JSON end line.
 *
 * ```
 * {"format":"cgsync-state","version":2,"mode":"mirror","shard":null,"order":"hash32-id"}
 * alice TAB <desired digest> TAB <memberships> TAB <groups>
 * {"users":1}
 * ```
 *
 * Read as a stream ({@link StateSource.records}) and written as a stream ({@link StateFileWriter}),
 * so memory does not grow with the users. Version 1 (one JSON object) is still read, whole, and
 * converted; its users' counts are unknown (`-`) until they are applied again.
 */

/** One user of the snapshot. */
export interface StateRecord {
  readonly user: string;
  /** Its place in the canonical order ({@link userOrderKey}). */
  readonly key: string;
  /** The digest of the desired state that was applied. */
  readonly digest: string;
  /** Memberships and groups applied; undefined when unknown (converted from version 1). */
  readonly memberships: number | undefined;
  readonly groups: number | undefined;
}

export interface StateIdentity {
  readonly mode: Mode;
  /** `i/n` when written by a sharded run: one snapshot per shard. */
  readonly shard: string | null;
  /**
   * The app and host the snapshot's users were applied to. A snapshot of another target is refused
   * (its users would be skipped as unchanged in an app that never got them); one that records none
   * (written before it was recorded) is read, and rewritten with it.
   */
  readonly target?: Target;
}

/** A snapshot on disk, checked against the run; its records can be streamed any number of times. */
export interface StateSource {
  readonly path: string;
  /** 2, 1 (converted), or 0 when there is no file yet. */
  readonly version: number;
  /**
   * The file is a version 2 snapshot of this run's mode and shard: a run that changes nothing in it
   * leaves it as it is (rewriting it would give the same lines).
   */
  readonly current: boolean;
  /**
   * A random name the header gives each version 2 file written (absent in older ones): a record kept
   * beside the file about its lines (last-input.ts) names it, and holds for no other file.
   */
  readonly generation: string | undefined;
  /**
   * The records in canonical order, a batch at a time (one per piece of the file read: a merge-join
   * awaits once per batch, see batch-cursor.ts); none when the file is missing or was written in
   * another mode.
   */
  batches(): AsyncGenerator<readonly StateRecord[]>;
  /** The same records one at a time. */
  records(): AsyncGenerator<StateRecord>;
}

function source(
  path: string,
  version: number,
  current: boolean,
  batches: () => AsyncGenerator<readonly StateRecord[]>,
  generation?: string,
): StateSource {
  return { path, version, current, generation, batches, records: () => flatten(batches()) };
}

const FORMAT = 'cgsync-state';
export const STATE_VERSION = 2;
const ORDER = 'hash32-id';

function damaged(path: string, line: number, problem: string): SyncError {
  return new SyncError(
    'CHECKPOINT',
    `state file ${path} line ${line}: ${problem}; delete it to start afresh (the next run applies every user once)`,
    { path, line },
  );
}

/**
 * The digest of a user whose state in the app is not known: a run began it and never saved the
 * snapshot (state-marker.ts). Eight hex digits: a valid line for every reader, never equal to a
 * desired state's digest (sha256, 64 digits), so the user is never unchanged.
 */
export const UNKNOWN_DIGEST = '00000000';

/** The record of a user, as a line of the file. */
export function formatRecord(record: StateRecord): string {
  const count = (n: number | undefined): string => (n === undefined ? '-' : String(n));
  return `${escapeValue(record.user)}\t${record.digest}\t${count(record.memberships)}\t${count(record.groups)}`;
}

/** A record line back (`undefined` when it is not one: the end line has no TAB). */
export function parseRecord(text: string, path: string, line: number): StateRecord | undefined {
  // Fields found by index, not split (one record per user: this is the join's hot path).
  const a = text.indexOf('\t');
  if (a === -1) return undefined;
  const b = text.indexOf('\t', a + 1);
  const c = b === -1 ? -1 : text.indexOf('\t', b + 1);
  if (c === -1 || text.indexOf('\t', c + 1) !== -1) {
    throw damaged(path, line, `expected 4 fields, got ${text.split('\t').length}`);
  }
  const escaped = text.slice(0, a);
  const digest = text.slice(a + 1, b);
  if (escaped === '') throw damaged(path, line, 'the user is empty');
  if (!isHexDigest(digest)) throw damaged(path, line, `the digest is not hex: "${digest}"`);
  const user = unescapeValue(escaped);
  return {
    user,
    key: userOrderKeyEscaped(escaped, user),
    digest,
    memberships: parseCount(text.slice(b + 1, c), 'memberships', path, line),
    groups: parseCount(text.slice(c + 1), 'groups', path, line),
  };
}

function parseCount(value: string, what: string, path: string, line: number): number | undefined {
  if (value === '-') return undefined;
  // Digit by digit (1 to 9 of them), not a regular expression: two counts per user of the snapshot.
  const bad = () => damaged(path, line, `${what} is not a count: "${value}"`);
  if (value.length === 0 || value.length > 9) throw bad();
  let n = 0;
  for (let i = 0; i < value.length; i++) {
    const d = value.charCodeAt(i) - 48;
    if (d < 0 || d > 9) throw bad();
    n = n * 10 + d;
  }
  return n;
}

/**
 * Whether `digest` is 8 to 128 lowercase hex digits (`/^[0-9a-f]{8,128}$/`, checked by character
 * code: once per user of the snapshot, where the regular expression cost a twentieth of an unchanged
 * night).
 */
function isHexDigest(digest: string): boolean {
  if (digest.length < 8 || digest.length > 128) return false;
  for (let i = 0; i < digest.length; i++) {
    const c = digest.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

/**
 * Opens the snapshot at `path` for a run of `expect`'s mode and shard: a missing file is an empty
 * snapshot; a file of another shard is refused; a file of another mode says nothing about this one
 * (no records). Only the header (or, for version 1, the whole file) is read now.
 */
export async function openStateFile(path: string, expect: StateIdentity): Promise<StateSource> {
  let first: string | undefined;
  try {
    for await (const line of fileLines(path)) {
      first = line;
      break;
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return emptySource(path);
    // The reason in the system's words (EISDIR, EACCES, …): what to fix is then plain.
    const reason = typeof code === 'string' ? `: ${code}` : '';
    throw new SyncError('IO', `state file ${path} cannot be read${reason}`, { path }, { cause: err });
  }
  let header: Record<string, unknown> = {};
  try {
    header = JSON.parse(first ?? '') as Record<string, unknown>;
  } catch {
    // Version 1 spread over several lines (edited by hand) is read whole below.
    header = { format: FORMAT, version: 1, ...(await wholeVersion1(path)), users: undefined };
  }
  if (typeof header !== 'object' || header === null || header.format !== FORMAT) {
    throw new SyncError('CHECKPOINT', `${path} is not a cgsync state file (format ${FORMAT})`, { path });
  }
  if (header.version !== 1 && header.version !== STATE_VERSION) {
    throw new SyncError(
      'CHECKPOINT',
      `state file ${path} has version ${String(header.version)}, this cgsync reads versions 1 and ${STATE_VERSION}: delete it to start afresh`,
      { path },
    );
  }
  if ((header.shard ?? null) !== expect.shard) {
    throw new SyncError(
      'CHECKPOINT',
      `state file ${path} belongs to shard ${String(header.shard ?? 'none')}, this run is shard ${expect.shard ?? 'none'}: use one state file per shard`,
      { path },
    );
  }
  const recorded = recordedTarget(header.target);
  if (recorded !== undefined && expect.target !== undefined && !sameTarget(recorded, expect.target)) {
    throw new SyncError(
      'CONFIG',
      `state file ${path} was written for ${describeTarget(recorded)}, but this run targets ${describeTarget(expect.target)}: its users would be skipped as unchanged in an app that never got them. Use one state file per app (and per shard); nothing was written and no call was made`,
      { path },
    );
  }
  // A snapshot taken in another mode says nothing about this one: everyone is planned afresh.
  if (header.mode !== expect.mode) return source(path, header.version, false, noRecords);
  if (header.version === 1) return convertVersion1(path);
  if (header.order !== ORDER) throw damaged(path, 1, `unknown order "${String(header.order)}"`);
  // Without its target recorded, not current: the run writes it once with the target.
  const current = recorded !== undefined || expect.target === undefined;
  const generation = typeof header.generation === 'string' ? header.generation : undefined;
  return source(path, STATE_VERSION, current, () => streamRecordBatches(path), generation);
}

async function* noRecords(): AsyncGenerator<readonly StateRecord[]> {}

function emptySource(path: string): StateSource {
  return source(path, 0, false, noRecords);
}

/**
 * Records per batch. Small: a batch's records live until the join has passed them all, and records
 * that live through a young-generation collection are promoted to the old one, whose garbage then
 * lifts the peak (batches of a whole 64 KiB piece, about 850 records, raised an unchanged night's peak
 * at 200,000 users from 113 to 142 MB in two runs out of three; batches of 64: 115-121 MB in four).
 * 64 still saves all but one await in 64.
 */
const RECORD_BATCH = 64;

/**
 * Version 2's records, checked line by line (fields, order, the end line and its count), in batches of
 * {@link RECORD_BATCH}. A damaged line ends the stream with its error after the records before it.
 */
async function* streamRecordBatches(path: string): AsyncGenerator<StateRecord[]> {
  let line = 0;
  let previous = '';
  let count = 0;
  let ended = false;
  for await (const texts of fileLineBatches(path)) {
    let batch: StateRecord[] = [];
    try {
      for (const text of texts) {
        if (batch.length === RECORD_BATCH) {
          yield batch;
          batch = [];
        }
        line++;
        if (line === 1) continue;
        if (ended) throw damaged(path, line, 'a line after the end line');
        const record = parseRecord(text, path, line);
        if (record === undefined) {
          checkEndLine(text, count, path, line);
          ended = true;
          continue;
        }
        if (record.key <= previous) throw damaged(path, line, `user "${record.user}" is out of order`);
        previous = record.key;
        count++;
        batch.push(record);
      }
    } catch (err) {
      if (batch.length > 0) yield batch;
      throw err;
    }
    if (batch.length > 0) yield batch;
  }
  if (!ended) throw damaged(path, line + 1, 'the file ends without its end line (cut short)');
}

function checkEndLine(text: string, count: number, path: string, line: number): void {
  let end: unknown;
  try {
    end = JSON.parse(text);
  } catch {
    throw damaged(path, line, 'not a record (user TAB digest TAB memberships TAB groups)');
  }
  if ((end as { users?: unknown } | null)?.users !== count) {
    throw damaged(path, line, `the end line says ${JSON.stringify(end)}, the file holds ${count} users`);
  }
}

async function* flatten<T>(batches: AsyncIterable<readonly T[]>): AsyncGenerator<T> {
  for await (const batch of batches) yield* batch;
}

/** Version 1: one JSON object `{format, version: 1, mode, shard, users: {user: digest}}`, read whole. */
async function wholeVersion1(path: string): Promise<Record<string, unknown>> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new SyncError(
      'CHECKPOINT',
      `state file ${path} is neither a version 2 state file (line 1 is not its header) nor valid JSON (version 1); delete it to start afresh (the next run applies every user once)`,
      { path, line: 1 },
      { cause: err },
    );
  }
  if (typeof value !== 'object' || value === null || (value as { format?: unknown }).format !== FORMAT) {
    throw new SyncError('CHECKPOINT', `${path} is not a cgsync state file (format ${FORMAT})`, { path });
  }
  return value as Record<string, unknown>;
}

async function convertVersion1(path: string): Promise<StateSource> {
  const value = (await wholeVersion1(path)) as { users?: unknown };
  const records: StateRecord[] = [];
  if (typeof value.users === 'object' && value.users !== null) {
    for (const [user, digest] of Object.entries(value.users as Record<string, unknown>)) {
      // A digest that is not hex never matched a real one: the user is applied afresh.
      if (typeof digest === 'string' && user !== '' && isHexDigest(digest)) {
        records.push({ user, key: userOrderKey(user), digest, memberships: undefined, groups: undefined });
      }
    }
  }
  records.sort((a, b) => (a.key < b.key ? -1 : 1));
  return source(path, 1, false, async function* () {
    yield records;
  });
}

/**
 * Writes a snapshot as a stream under a temporary name beside `path` (mode 0600), records in
 * canonical order; {@link commit} fsyncs and renames it into place, {@link abort} removes it. Until
 * the rename, and if the process dies, the previous snapshot stays as it was.
 */
export class StateFileWriter {
  readonly path: string;
  /** The file's random name in its header ({@link StateSource.generation}). */
  readonly generation = randomBytes(16).toString('hex');
  readonly #tmp: string;
  readonly #writer: LineFileWriter;
  #previous = '';
  #count = 0;

  private constructor(path: string, tmp: string, writer: LineFileWriter) {
    this.path = path;
    this.#tmp = tmp;
    this.#writer = writer;
  }

  static async create(path: string, identity: StateIdentity): Promise<StateFileWriter> {
    let tmp: string;
    let writer: LineFileWriter;
    try {
      tmp = createTemp(path);
      writer = await LineFileWriter.create(tmp, 0o600, { existing: true }).catch(async (err: unknown) => {
        await discardTemp(tmp);
        throw err;
      });
    } catch (err) {
      throw writeError(path, err);
    }
    const state = new StateFileWriter(path, tmp, writer);
    await writer.write(
      JSON.stringify({
        format: FORMAT,
        version: STATE_VERSION,
        mode: identity.mode,
        shard: identity.shard,
        order: ORDER,
        ...(identity.target === undefined
          ? {}
          : { target: { sdkAppId: identity.target.sdkAppId, host: identity.target.host } }),
        generation: state.generation,
      }),
    );
    return state;
  }

  async write(record: StateRecord): Promise<void> {
    if (record.key <= this.#previous) {
      throw new Error(`StateFileWriter: user "${record.user}" written out of order`);
    }
    this.#previous = record.key;
    this.#count++;
    await this.#writer.write(formatRecord(record));
  }

  async commit(): Promise<void> {
    try {
      await this.#writer.write(JSON.stringify({ users: this.#count }));
      await this.#writer.close({ sync: true });
      await commitTemp(this.#tmp, this.path);
    } catch (err) {
      await this.abort();
      throw writeError(this.path, err);
    }
  }

  async abort(): Promise<void> {
    await this.#writer.discard();
    await discardTemp(this.#tmp);
  }
}

function writeError(path: string, err: unknown): SyncError {
  return new SyncError(
    'IO',
    `state file ${path} cannot be written: ${(err as Error).message}`,
    { path },
    { cause: err },
  );
}

/** The target a header records, if it records a well-formed one. */
function recordedTarget(value: unknown): Target | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { sdkAppId, host } = value as Record<string, unknown>;
  return typeof sdkAppId === 'number' && typeof host === 'string' ? { sdkAppId, host } : undefined;
}

function sameTarget(a: Target, b: Target): boolean {
  return a.sdkAppId === b.sdkAppId && a.host === b.host;
}
