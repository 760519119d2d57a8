import { join } from 'node:path';
import { ExternalSorter } from '../planner/external-sort.js';
import { LineFileWriter } from '../planner/line-file.js';
import { userOrderKey } from '../reader/index.js';
import { BatchCursor } from './batch-cursor.js';
import { fileLines } from './line-reader.js';
import {
  formatRecord,
  parseRecord,
  StateFileWriter,
  type StateIdentity,
  type StateRecord,
  type StateSource,
  UNKNOWN_DIGEST,
} from './state-file.js';

/**
 * What a run changes in the `--state` snapshot, kept on disk in the run's working directory so that
 * memory does not grow with the users:
 * - the pending changes, in canonical order as the merge-join meets them: `A` a user to apply (its new
 *   record, written if it is done), `K` an unchanged user whose counts were unknown (written as is),
 *   `V` a user that vanished from the export (mirror: its record is dropped if it is emptied, kept if
 *   it failed, so that it is emptied next time);
 * - the users done, in the order the executor finishes them, sorted at the end.
 * {@link save} merges the old snapshot, the pending changes and the users done into the new one.
 */
export class StateChanges {
  readonly #path: string;
  readonly #writer: Promise<LineFileWriter>;
  #lines: string[] = [];
  readonly #done: ExternalSorter;
  #doneBatch: string[] = [];
  #doneChain: Promise<void> = Promise.resolve();
  #closed = false;
  /** Changes noted (pending lines and users done): none, and a current snapshot is kept as it is. */
  #noted = 0;

  constructor(dir: string) {
    this.#path = join(dir, 'state-changes.tsv');
    this.#writer = LineFileWriter.create(this.#path, 0o600);
    this.#done = new ExternalSorter({ tmpDir: dir, maxBufferedRecords: 50_000 });
  }

  /** A user to apply: `record` is written if the user ends done. */
  apply(record: StateRecord): void {
    this.#noted++;
    this.#lines.push(`A\t${formatRecord(record)}`);
  }

  /** An unchanged user whose counts the old record did not have. */
  keep(record: StateRecord): void {
    this.#noted++;
    this.#lines.push(`K\t${formatRecord(record)}`);
  }

  /** A user of the snapshot missing from the export (mirror). */
  vanish(record: StateRecord): void {
    this.#noted++;
    this.#lines.push(`V\t${formatRecord(record)}`);
  }

  /**
   * Writes what was noted so far once enough is (called between users by the merge-join; `force`:
   * whatever there is). A promise only when it writes, so that the join does not await per user.
   */
  flush(force = false): Promise<void> | undefined {
    if (!force && this.#lines.length < 4096) return undefined;
    return this.#write();
  }

  async #write(): Promise<void> {
    const writer = await this.#writer;
    const lines = this.#lines;
    this.#lines = [];
    for (const line of lines) await writer.write(line);
  }

  /** Ends the pending changes (after the merge-join): they can be read back. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.flush(true);
    this.#closed = true;
    await (await this.#writer).close();
  }

  /** The vanished users' records, in canonical order (after {@link close}). */
  async *vanished(): AsyncGenerator<StateRecord> {
    for await (const { kind, record } of this.#pending()) if (kind === 'V') yield record;
  }

  /** A user ended done (synchronous: the executor's outcome callback). */
  done(user: string): void {
    this.#noted++;
    this.#doneBatch.push(userOrderKey(user));
    if (this.#doneBatch.length >= 10_000) this.#flushDone();
  }

  #flushDone(): void {
    const batch = this.#doneBatch;
    this.#doneBatch = [];
    this.#doneChain = this.#doneChain.then(async () => {
      for (const key of batch) await this.#done.add(key, '');
    });
  }

  /**
   * Writes the new snapshot to `identity`'s file: old records merged with this run's changes. When the
   * run noted no change and `old` is current (version 2, this mode and shard, read to its end line by
   * the merge-join), the new snapshot would be the old one byte for byte: the file is left as it is
   * (an unchanged night then reads the snapshot once, instead of reading and rewriting it).
   * Resolves with the generation of the file now in place ({@link StateSource.generation}).
   */
  async save(old: StateSource, identity: StateIdentity): Promise<string | undefined> {
    await this.close();
    this.#flushDone();
    await this.#doneChain;
    if (this.#noted === 0 && old.current) return old.generation;
    const out = await StateFileWriter.create(old.path, identity);
    try {
      const olds = await BatchCursor.open(old.batches());
      const done = this.#done.sorted();
      let d = await done.next();
      for await (const { kind, record } of this.#pending()) {
        for (let o = olds.current; o !== undefined && o.key < record.key; o = olds.current) {
          await out.write(o);
          await olds.advance();
        }
        const previous = olds.current?.key === record.key ? olds.current : undefined;
        if (previous !== undefined) await olds.advance();
        while (!d.done && d.value[0] < record.key) d = await done.next();
        const isDone = !d.done && d.value[0] === record.key;
        if (kind === 'K' || (kind === 'A' && isDone)) await out.write(record);
        else if (kind === 'A' && previous !== undefined) await out.write(unsure(previous));
        else if (kind === 'V' && !isDone && previous !== undefined) await out.write(previous);
      }
      for (let o = olds.current; o !== undefined; o = olds.current) {
        await out.write(o);
        await olds.advance();
      }
      await out.commit();
    } catch (err) {
      await out.abort();
      throw err;
    }
    return out.generation;
  }

  async dispose(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      await (await this.#writer).discard();
    }
    await this.#doneChain.catch(() => undefined);
    await this.#done.dispose();
  }

  async *#pending(): AsyncGenerator<{ kind: string; record: StateRecord }> {
    let line = 0;
    for await (const text of fileLines(this.#path)) {
      line++;
      const record = parseRecord(text.slice(2), this.#path, line);
      if (record !== undefined) yield { kind: text[0] ?? '', record };
    }
  }
}

/**
 * The line of a user of the snapshot that the run applied and did not finish (failed, or not reached
 * by a run stopped part way): the app may hold its old state, the new one or a part of each. Its
 * digest becomes unknown, so it is applied again next time, and in mirror mode emptied if it has left
 * the export by then (dropping the line would leave it as it is); its counts stay the old ones (what
 * the early guard would remove). A user new to the snapshot gets no line, as before: a user this tool
 * never finished applying is never emptied as vanished.
 */
function unsure(previous: StateRecord): StateRecord {
  return { ...previous, digest: UNKNOWN_DIGEST };
}
