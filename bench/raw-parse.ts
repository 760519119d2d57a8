/**
 * csv-parse's raw speed on a file, the yardstick of the planning bench: the fastest plain use (arrays,
 * `bom: true`, for-await), as bench/reader.ts measures it. Prints `{"rows":N,"parseMs":T}`.
 *
 *   node .bench-build/bench/raw-parse.js <file.csv>
 */
import { createReadStream } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parse } from 'csv-parse';

/** Data rows (the header is not counted) and the time to parse them all, ms. */
export async function rawParse(path: string): Promise<{ rows: number; parseMs: number }> {
  const started = performance.now();
  let rows = 0;
  for await (const _record of createReadStream(path).pipe(parse({ bom: true }))) rows++;
  return { rows: rows - 1, parseMs: performance.now() - started };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const path = process.argv[2];
  if (path === undefined) {
    process.stderr.write('Expected a CSV path\n');
    process.exitCode = 1;
  } else {
    rawParse(path).then(
      (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
      (error: unknown) => {
        process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
        process.exitCode = 1;
      },
    );
  }
}
