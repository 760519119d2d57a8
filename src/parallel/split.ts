import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { SyncError, type SyncErrorCode, type SyncErrorContext } from '../errors.js';
import type { ScanPart, ScanSummary, StagedRows, StagedSegment } from '../reader/index.js';

/** The compiled scan worker; absent when running from the TypeScript sources (tests). */
export const SCAN_WORKER_FILE = fileURLToPath(new URL('./scan-worker.js', import.meta.url));

/** Files from this size up are read in two parts at once. */
export const DEFAULT_SPLIT_MIN_BYTES = 8 * 1024 * 1024;

/** Where a second reader can start: a record start near the middle of the file. */
export interface SplitPoint {
  /** Byte offset of the second part. */
  readonly offset: number;
  /** Line of the second part's first record. */
  readonly line: number;
  /** Size of the file. */
  readonly size: number;
}

/**
 * The first line start at or after the middle of the file that is outside quotes: after a line feed
 * with an even number of `"` before it (in RFC 4180 every quote opens, closes, or is one of a doubled
 * pair, so the parity says whether a byte is inside a quoted field). A file whose first half is not
 * valid CSV fails in the first part anyway. Undefined when the file is smaller than `minBytes` or
 * there is no such line start.
 */
export async function findSplit(path: string, minBytes: number): Promise<SplitPoint | undefined> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch {
    return undefined; // the scan reports it
  }
  if (size < minBytes) return undefined;
  const middle = Math.floor(size / 2);
  let line = 1;
  let quotes = 0;
  let offset = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) {
    const buf = chunk as Buffer;
    const before = Math.min(buf.length, Math.max(0, middle - offset));
    if (before > 0) {
      const head = before === buf.length ? buf : buf.subarray(0, before);
      line += countByte(head, 10);
      quotes += countByte(head, 34);
    }
    for (let i = before; i < buf.length; i++) {
      const b = buf[i];
      if (b === 34) quotes++;
      else if (b === 10) {
        line++;
        if ((quotes & 1) === 0) {
          const at = offset + i + 1;
          return at < size ? { offset: at, line, size } : undefined;
        }
      }
    }
    offset += buf.length;
  }
  return undefined;
}

function countByte(buf: Buffer, byte: number): number {
  let n = 0;
  let at = buf.indexOf(byte);
  while (at !== -1) {
    n++;
    at = buf.indexOf(byte, at + 1);
  }
  return n;
}

/** What the scan worker was given (see src/parallel/scan-worker.ts). */
export interface ScanWorkerData {
  readonly path: string;
  readonly part: ScanPart;
  readonly tmpDir: string;
  readonly rejections: string;
  readonly segmentBytes?: number;
}

/** A part of a file scanned on a worker thread. */
export class ScanWorker {
  readonly result: Promise<{ summary: ScanSummary; staged: StagedRows }>;
  readonly #worker: Worker;

  constructor(
    data: ScanWorkerData,
    onSegment: (segment: StagedSegment) => Promise<void>,
    onUngrouped: () => void,
  ) {
    // A small young generation, as for the planning threads: short-lived garbage, lower peak memory.
    this.#worker = new Worker(SCAN_WORKER_FILE, {
      workerData: data,
      resourceLimits: { maxYoungGenerationSizeMb: 8 },
    });
    const worker = this.#worker;
    this.result = new Promise((resolve, reject) => {
      worker.on('message', (message: WorkerMessage) => {
        if (message.type === 'segment') {
          onSegment(message.segment).then(
            () => worker.postMessage('ack'),
            () => worker.postMessage('ack'),
          );
        } else if (message.type === 'ungrouped') onUngrouped();
        else if (message.type === 'done') {
          resolve({ summary: message.summary, staged: message.staged });
          worker.terminate().catch(() => undefined);
        } else {
          const { code, message: text, context } = message.error;
          reject(code === undefined ? new Error(text) : new SyncError(code, text, context ?? {}));
        }
      });
      worker.on('error', reject);
      worker.on('exit', (code) => reject(new Error(`The scan thread stopped (exit code ${code})`)));
    });
    // Looked at by the caller only when the first part succeeded.
    this.result.catch(() => undefined);
  }

  async stop(): Promise<void> {
    await this.#worker.terminate();
  }
}

type WorkerMessage =
  | { readonly type: 'segment'; readonly segment: StagedSegment }
  | { readonly type: 'ungrouped' }
  | { readonly type: 'done'; readonly summary: ScanSummary; readonly staged: StagedRows }
  | {
      readonly type: 'error';
      readonly error: { message: string; code?: SyncErrorCode; context?: SyncErrorContext };
    };
