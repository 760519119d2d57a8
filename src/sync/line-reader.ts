import { open } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';

/**
 * The lines of a UTF-8 file (without their LF, or CR LF), a piece at a time: each batch holds the
 * whole lines of one read of 64 KiB (and the line cut at its end, completed by the next read). A
 * piece is read only when the consumer has taken the batch before it, so a slow consumer never makes
 * lines pile up in memory (readline's async iterator reads ahead of it), and a consumer pays one
 * await per piece, not one per line. Breaking out of the loop closes the file.
 */
export async function* fileLineBatches(path: string): AsyncGenerator<string[]> {
  const handle = await open(path, 'r');
  try {
    const decoder = new StringDecoder('utf8');
    const buffer = Buffer.allocUnsafe(1 << 16);
    let rest = '';
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      const text = rest + decoder.write(buffer.subarray(0, bytesRead));
      const lines: string[] = [];
      let start = 0;
      for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', start)) {
        lines.push(text.charCodeAt(end - 1) === 13 ? text.slice(start, end - 1) : text.slice(start, end));
        start = end + 1;
      }
      rest = text.slice(start);
      if (lines.length > 0) yield lines;
    }
    rest += decoder.end();
    if (rest.length > 0) yield [rest];
  } finally {
    await handle.close();
  }
}

/** The lines of a UTF-8 file one at a time (see {@link fileLineBatches}). */
export async function* fileLines(path: string): AsyncGenerator<string> {
  for await (const lines of fileLineBatches(path)) yield* lines;
}
