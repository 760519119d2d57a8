/**
 * Worker-thread entry of {@link scanInParts}: scans one part of a CSV file (`scanInput` with `part`)
 * and reports to the parent thread.
 *
 * In (`workerData`): `{ path, part, tmpDir, rejections, segmentBytes }`. Out: `{ type: 'segment', segment }`
 * (the parent answers `'ack'` when it has room for more), `{ type: 'ungrouped' }`, then
 * `{ type: 'done', summary, staged }` or `{ type: 'error', error }`. Rejected rows go to the NDJSON file
 * `rejections` (in file order), for the parent to report after the parts before this one.
 */
import { appendFile } from 'node:fs/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { isSyncError } from '../errors.js';
import { releaseStaged, scanInput } from '../reader/index.js';
import type { ScanWorkerData } from './scan-parts.js';

const port = parentPort;
if (port === null) throw new Error('scan-worker.js runs as a worker thread');
const data = workerData as ScanWorkerData;

let acked: (() => void) | undefined;
port.on('message', (message: string) => {
  if (message === 'ack') {
    const resolve = acked;
    acked = undefined;
    resolve?.();
  }
});

async function main(): Promise<void> {
  // Rejections in order: batches appended one after another.
  let batch: string[] = [];
  let written: Promise<void> = Promise.resolve();
  const writeBatch = (): void => {
    if (batch.length === 0) return;
    const text = batch.join('');
    batch = [];
    written = written.then(() => appendFile(data.rejections, text, { mode: 0o600 }));
  };
  const scan = await scanInput(data.path, {
    part: data.part,
    tmpDir: data.tmpDir,
    ...(data.segmentBytes === undefined ? {} : { segmentBytes: data.segmentBytes }),
    onRejected: (rejection) => {
      batch.push(`${JSON.stringify(rejection)}\n`);
      if (batch.length >= 1000) writeBatch();
    },
    onEvent: (event) => {
      if (event.type === 'ungrouped') port?.postMessage({ type: 'ungrouped' });
      else if (event.type === 'segment') {
        return new Promise<void>((resolve) => {
          acked = resolve;
          port?.postMessage({ type: 'segment', segment: event.segment });
        });
      }
      return undefined;
    },
  });
  writeBatch();
  await written;
  const staged = scan.takeStaged();
  // The parent removes the working files (they are under its `tmpDir`).
  releaseStaged(staged);
  port?.postMessage({ type: 'done', summary: scan.summary, staged });
}

main().catch((error: unknown) => {
  port?.postMessage({
    type: 'error',
    error: {
      message: error instanceof Error ? error.message : String(error),
      ...(isSyncError(error) ? { code: error.code, context: error.context } : {}),
    },
  });
});
