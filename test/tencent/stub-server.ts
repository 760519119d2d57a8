import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the stub received. */
export interface StubRequest {
  readonly method: string;
  readonly pathname: string;
  /** The raw query string, without `?`. */
  readonly rawQuery: string;
  readonly query: URLSearchParams;
  readonly contentType: string | undefined;
  readonly rawBody: string;
  readonly body: unknown;
}

/** Answers one request: write to `res` (or destroy its socket, or never answer). */
export type StubHandler = (req: StubRequest, res: ServerResponse, index: number) => void;

export interface Stub {
  readonly url: string;
  readonly requests: StubRequest[];
  /** Replaces the handler; requests already recorded stay. */
  handle(handler: StubHandler): void;
  reset(): void;
  close(): Promise<void>;
}

export function sendJson(res: ServerResponse, body: unknown, status = 200): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** A tiny node:http server on 127.0.0.1, port 0, that records every request. */
export async function startStub(
  initial: StubHandler = (_req, res) => sendJson(res, { ActionStatus: 'OK', ErrorCode: 0, ErrorInfo: '' }),
): Promise<Stub> {
  let handler = initial;
  const requests: StubRequest[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      const target = req.url ?? '/';
      const q = target.indexOf('?');
      const rawQuery = q === -1 ? '' : target.slice(q + 1);
      let body: unknown;
      try {
        body = JSON.parse(rawBody);
      } catch {
        body = undefined;
      }
      const recorded: StubRequest = {
        method: req.method ?? '',
        pathname: q === -1 ? target : target.slice(0, q),
        rawQuery,
        query: new URLSearchParams(rawQuery),
        contentType: req.headers['content-type'],
        rawBody,
        body,
      };
      requests.push(recorded);
      handler(recorded, res, requests.length - 1);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    handle(next) {
      handler = next;
    },
    reset() {
      requests.length = 0;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
