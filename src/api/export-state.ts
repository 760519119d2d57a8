import { resolve } from 'node:path';
import { SyncError } from '../errors.js';
import { countingApart } from '../executor/index.js';
import { scanInput } from '../reader/index.js';
import { type ExportJobResult, runExportJob } from '../sync/export-job.js';
import { checkOptions, is } from './check-options.js';
import { type Client, clientRule, connectionOf } from './client.js';
import { linkSignal, type OnProgress, ProgressEvents } from './progress.js';

export type { UnexportedUser } from '../sync/export-job.js';

/** Options of {@link exportState}. Give `users` or `input`. */
export interface ExportStateOptions {
  /** The user IDs to export (a repeat is read once). @default none: give `users` or `input` */
  readonly users?: Iterable<string> | AsyncIterable<string> | undefined;
  /** A CSV in the input format: its users are exported (the CSV is validated first). @default none */
  readonly input?: string | undefined;
  /** The CSV to write, in the input format; it appears only when complete. */
  readonly out: string;
  /** The app to read. */
  readonly client: Client;
  /** How many unreadable users are listed; the count is complete. @default 20 */
  readonly listLimit?: number | undefined;
  /** Stops the export: it rejects with `SyncError('INTERRUPTED')` and no file is written. @default none */
  readonly signal?: AbortSignal | undefined;
  /** Told each phase (`read`, `flush`) and each warning. @default none */
  readonly onProgress?: OnProgress | undefined;
}

/** What {@link exportState} returns: the CLI's `export --json` line, without the exit code. */
export type ExportStateResult = ExportJobResult & {
  /** `partial` when some users could not be read (listed in `unreadable`; the rest exported). */
  readonly status: 'ok' | 'partial';
};

const RULES = {
  users: {
    expected: 'an iterable or async iterable of user IDs',
    test: (v: unknown) =>
      typeof v === 'object' && v !== null && (Symbol.iterator in v || Symbol.asyncIterator in v),
  },
  input: is.path(),
  out: is.path(true),
  client: { ...clientRule, required: true },
  listLimit: is.integer(0, 1_000_000),
  signal: is.signal(),
  onProgress: is.fn(),
} as const;

/**
 * The app's current groups of the given users, as a CSV in the input format: `cgsync export`.
 * Applying it restores them (merge); mirroring it back changes nothing.
 * @throws SyncError `USAGE` for a bad option, before any work; `INTERRUPTED` when `signal` stops it.
 */
export async function exportState(options: ExportStateOptions): Promise<ExportStateResult> {
  checkOptions<ExportStateOptions>('exportState', options, RULES);
  if ((options.users === undefined) === (options.input === undefined)) {
    throw new SyncError('USAGE', 'exportState(): give one of `users` or `input`: the users to export');
  }
  const connection = connectionOf('exportState', options.client);
  const events = new ProgressEvents(options.onProgress, 1000);
  const linked = linkSignal(options.signal);
  const signal = linked.signal === undefined ? {} : { signal: linked.signal };
  let scan: Awaited<ReturnType<typeof scanInput>> | undefined;
  try {
    // The CSV is read (and validated) before the first call, as for plan and apply.
    if (options.input !== undefined) scan = await scanInput(resolve(options.input), signal);
    const staged = scan;
    const listed = options.users;
    const users: AsyncIterable<string> =
      staged === undefined
        ? (async function* () {
            for await (const user of listed as Iterable<string> | AsyncIterable<string>) {
              if (typeof user !== 'string' || user === '') {
                throw new SyncError(
                  'USAGE',
                  `exportState(): Expected each of \`users\` to be a user ID, got \`${String(user)}\``,
                );
              }
              yield user;
            }
          })()
        : (async function* () {
            for await (const d of staged.users()) yield d.user;
          })();
    const result = await runExportJob({
      users,
      unique: staged !== undefined,
      out: resolve(options.out),
      api: connection.api,
      scheduler: countingApart(connection.scheduler),
      ...(options.listLimit === undefined ? {} : { listLimit: options.listLimit }),
      ...signal,
      onPhase: events.onPhase,
      onWarning: events.onWarning,
    });
    return { status: result.unreadable.count > 0 ? 'partial' : 'ok', ...result };
  } finally {
    await scan?.dispose();
    linked.dispose();
  }
}
