import type { DesiredUser } from '../model.js';
import type { InputScan } from './scan-input.js';
import { scanInput } from './scan-input.js';
import type { ReaderOptions, ReaderSummary } from './types.js';
import type { UserStream } from './users/user-stream.js';

/** Options of {@link readUsers} given a path. */
export interface ReadUsersOptions extends ReaderOptions {
  /** Called once the file was scanned, before the first user. */
  readonly onScanned?: (scan: InputScan) => void;
}

/**
 * The users of a CSV file, one {@link DesiredUser} at a time, with bounded memory whatever the order
 * of the rows. Given a path, the whole file is scanned first ({@link scanInput}: validation,
 * rejections, digest) and nothing is emitted before it succeeded; given an {@link InputScan}, its
 * staged rows are read. The stream's `summary` is set when the last user was read.
 */
export function readUsers(source: InputScan | string, options: ReadUsersOptions = {}): UserStream {
  if (typeof source !== 'string') return source.users();
  let inner: UserStream | undefined;
  async function* generate(): AsyncGenerator<DesiredUser> {
    const scan = await scanInput(source as string, options);
    try {
      options.onScanned?.(scan);
    } catch (error) {
      await scan.dispose();
      throw error;
    }
    inner = scan.users();
    yield* inner;
  }
  const iterator = generate();
  Object.defineProperty(iterator, 'summary', { get: () => inner?.summary, enumerable: true });
  return iterator as AsyncGenerator<DesiredUser> & { readonly summary: ReaderSummary | undefined };
}
