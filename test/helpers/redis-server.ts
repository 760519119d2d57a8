import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { requireProgram } from './requirements.js';

/** A redis-server child process on 127.0.0.1, owned by one test file. */
export interface RunningRedis {
  /** `redis://127.0.0.1:PORT`, with `:password@` when started with a password. */
  readonly url: string;
  readonly port: number;
  /** Kills the server (SIGKILL). Safe to call twice. */
  stop(): Promise<void>;
  /** Kills the server (SIGKILL), waits `pauseMs`, and starts a fresh, empty one on the same port. */
  restart(pauseMs?: number): Promise<void>;
  /** Starts the server again after `stop()`, on the same port. */
  start(): Promise<void>;
}

/** Options of {@link startRedis}. */
export interface StartRedisOptions {
  /** Passed as `--requirepass`; the URL then carries it. @default no password */
  readonly password?: string;
}

const NOT_INSTALLED =
  'redis-server is not installed; run `bash .ci/services.sh` (installs it from Debian) before the tests';

/**
 * The redis-server binary (PATH, or `$CGSYNC_TEST_REDIS_SERVER`), or undefined when it is missing
 * outside CI: then the suites that need it are skipped (`describe.skipIf(REDIS_SERVER === undefined)`)
 * after one line saying how to install it. In CI (`CI=true`) a missing redis-server fails them.
 */
export const REDIS_SERVER = requireProgram({
  command: 'redis-server',
  neededBy: 'the Redis suites (the shared rate budget)',
});

const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('No TCP address for port 0');
  return address.port;
}

/** True when something on `port` answers a Redis PING (PONG, or NOAUTH when a password is required). */
function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let text = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (text.includes('\r\n')) done(text.startsWith('+PONG') || text.startsWith('-NOAUTH'));
    });
  });
}

async function spawnRedis(port: number, password: string | undefined): Promise<ChildProcess> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  args.push('--dir', tmpdir());
  if (password !== undefined) args.push('--requirepass', password);
  const child = spawn(REDIS_SERVER ?? 'redis-server', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  children.add(child);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  let failure: Error | undefined;
  child.once('error', (error: NodeJS.ErrnoException) => {
    failure = error.code === 'ENOENT' ? new Error(NOT_INSTALLED) : error;
  });
  child.once('exit', (code) => {
    children.delete(child);
    failure ??= new Error(`redis-server exited with code ${String(code)} before answering: ${stderr.trim()}`);
  });
  const deadline = Date.now() + 5000;
  for (;;) {
    if (failure !== undefined) throw failure;
    if (await answersPing(port)) return child;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`redis-server on port ${port} did not answer PING within 5 s: ${stderr.trim()}`);
    }
    await delay(30);
  }
}

async function kill(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

/**
 * Spawns `redis-server --port <free port> --bind 127.0.0.1 --save '' --appendonly no` and waits until
 * it answers PING. Fails when redis-server is not installed (guard the suite with {@link REDIS_SERVER}).
 */
export async function startRedis(options: StartRedisOptions = {}): Promise<RunningRedis> {
  const { password } = options;
  const port = await freePort();
  let child: ChildProcess | undefined = await spawnRedis(port, password);
  const auth = password === undefined ? '' : `:${encodeURIComponent(password)}@`;
  return {
    url: `redis://${auth}127.0.0.1:${port}`,
    port,
    async stop() {
      await kill(child);
      child = undefined;
    },
    async start() {
      if (child !== undefined) throw new Error(`redis-server on port ${port} is already running`);
      child = await spawnRedis(port, password);
    },
    async restart(pauseMs = 300) {
      await kill(child);
      child = undefined;
      await delay(pauseMs);
      child = await spawnRedis(port, password);
    },
  };
}
