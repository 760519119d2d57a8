/**
 * Maps an async iterable with at most `concurrency` calls of `fn` in flight, yielding results as
 * they complete (unordered). Pulls from `source` only when a slot is free, so memory is bounded by
 * `concurrency` whatever the source's size. A rejection of `fn` ends the iteration with that error
 * after the calls in flight have settled.
 */
export async function* mapConcurrent<T, R>(
  source: AsyncIterable<T> | Iterable<T>,
  concurrency: number,
  fn: (item: T) => Promise<R>,
): AsyncGenerator<R> {
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new TypeError(
      `Expected \`concurrency\` to be a whole number from 1 and up, got \`${concurrency}\``,
    );
  }
  const iterator = (
    Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : source[Symbol.iterator]()
  ) as AsyncIterator<T> | Iterator<T>;
  type Settled = { id: number; ok: true; value: R } | { id: number; ok: false; error: unknown };
  const inFlight = new Map<number, Promise<Settled>>();
  let nextId = 0;
  let done = false;
  let failure: { error: unknown } | undefined;

  try {
    while (true) {
      while (!done && failure === undefined && inFlight.size < concurrency) {
        const next = await iterator.next();
        if (next.done === true) {
          done = true;
          break;
        }
        const id = nextId++;
        inFlight.set(
          id,
          fn(next.value).then(
            (value): Settled => ({ id, ok: true, value }),
            (error: unknown): Settled => ({ id, ok: false, error }),
          ),
        );
      }
      if (inFlight.size === 0) break;
      const settled = await Promise.race(inFlight.values());
      inFlight.delete(settled.id);
      if (settled.ok) {
        if (failure === undefined) yield settled.value;
      } else if (failure === undefined) {
        failure = { error: settled.error };
      }
    }
  } finally {
    // Early exit by the consumer: let calls in flight settle so nothing runs unobserved.
    await Promise.allSettled(inFlight.values());
    if (!done) await iterator.return?.();
  }
  if (failure !== undefined) throw failure.error;
}
