/** How far a job's reading of the app has come (mirror's read phase, `plan`, `verify`). */
export interface ReadProgress {
  /** Users read (or settled without a read: unchanged since the snapshot, done in a resumed run). */
  readonly read: number;
  /** Users to read in all, when known (the input's users of the shard). */
  readonly total?: number;
}

/** Told after each user is read, with the running count. Keep it cheap: it is called per user. */
export type OnReadProgress = (progress: ReadProgress) => void;

/**
 * `items` (users coming out of their read), telling `onProgress` after each one. `settled` adds the
 * users the job settled without reading them.
 */
export async function* countReads<T>(
  items: AsyncIterable<T>,
  total: number | undefined,
  onProgress: OnReadProgress | undefined,
  settled: () => number = () => 0,
): AsyncGenerator<T> {
  if (onProgress === undefined) {
    yield* items;
    return;
  }
  let read = 0;
  for await (const item of items) {
    read++;
    onProgress(total === undefined ? { read: read + settled() } : { read: read + settled(), total });
    yield item;
  }
}
