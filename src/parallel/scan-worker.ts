/**
 * Worker-thread entry of {@link scanInTwo} (scan-in-two.ts): scans one part of a CSV file and tells
 * the parent its segments and whether its rows are grouped, waiting for each answer (backpressure).
 * Rejected rows go to the NDJSON file `rejections` (in file order), for the parent to report after
 * the parts before this one. The working files are the parent's to read and remove.
 */
import { appendFile } from 'node:fs/promises';
import { releaseStaged, scanInput } from '../reader/index.js';
import { serveJobs } from '../threads.js';
import type { PartEvent, PartJob, PartResult } from './scan-in-two.js';

serveJobs<PartJob, PartResult, PartEvent>(async (job, { tell }) => {
  // Rejections in order: batches appended one after another.
  let batch: string[] = [];
  let written: Promise<void> = Promise.resolve();
  const writeBatch = (): void => {
    if (batch.length === 0) return;
    const text = batch.join('');
    batch = [];
    written = written.then(() => appendFile(job.rejections, text, { mode: 0o600 }));
  };
  const scan = await scanInput(job.path, {
    part: job.part,
    tmpDir: job.tmpDir,
    ...(job.segmentBytes === undefined ? {} : { segmentBytes: job.segmentBytes }),
    onRejected: (rejection) => {
      batch.push(`${JSON.stringify(rejection)}\n`);
      if (batch.length >= 1000) writeBatch();
    },
    onEvent: (event) => (event.type === 'header' ? undefined : tell(event)),
  });
  writeBatch();
  await written;
  const staged = scan.takeStaged();
  releaseStaged(staged);
  return { summary: scan.summary, staged };
});
