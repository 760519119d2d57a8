import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { type EmulatorOptions, parseKnownUsers, startEmulator } from '../emulator/index.js';
import { SyncError } from '../errors.js';
import { type ConnectionFlags, resolveCredentials } from './config.js';
import { type CliIo, EXIT, type ExitCode, writeLine } from './io.js';
import { checkPathCollisions, optionalPath } from './paths.js';

export interface EmulatorArgs extends Pick<ConnectionFlags, 'sdkappid' | 'secretKeyFile' | 'admin'> {
  port: number;
  host: string;
  latency: number;
  jitter: number;
  faultRate: number;
  lostRate: number;
  http502Rate: number;
  rateLimit: number;
  pageSize: number;
  duplicateNames: 'reject' | 'allow';
  existingMember: 'ok' | 'error';
  appliedFaultRate: number;
  malformedRate: number;
  faultMix?: Record<number, number>;
  itemFaultRate: number;
  itemFaultMix?: Record<number, number>;
  itemsOneByOne?: boolean;
  markedPerUser: number;
  contactItemRequired?: boolean;
  oldGroupNameLimit?: number;
  seed: number;
  knownUsers?: string;
  stateFile?: string;
  allowNonLoopback?: boolean;
}

/**
 * `cgsync emulator`: a local Tencent Cloud Chat for rehearsals. Prints
 * `emulator listening on http://HOST:PORT` as its first line and runs until SIGINT/SIGTERM.
 */
export async function runEmulatorCommand(args: EmulatorArgs, io: CliIo): Promise<ExitCode> {
  await checkPathCollisions(
    [
      ...optionalPath('--secret-key-file', args.secretKeyFile, 'input'),
      ...optionalPath('--known-users', args.knownUsers, 'input'),
      ...optionalPath('--state-file', args.stateFile, 'output'),
    ],
    io.cwd,
  );
  const credentials = resolveCredentials(args, io.env, io.cwd);
  let knownUsers: Set<string> | undefined;
  if (args.knownUsers !== undefined) {
    const path = resolve(io.cwd, args.knownUsers);
    try {
      knownUsers = parseKnownUsers(await readFile(path, 'utf8'));
    } catch {
      throw new SyncError('CONFIG', `known-users file ${path} cannot be read`, { path });
    }
  }
  const options: EmulatorOptions = {
    sdkAppId: credentials.sdkAppId,
    secretKey: credentials.secretKey,
    admin: credentials.admin,
    host: args.host,
    port: args.port,
    latencyMs: args.latency,
    jitterMs: args.jitter,
    faultRate: args.faultRate,
    lostRate: args.lostRate,
    http502Rate: args.http502Rate,
    rateLimit: args.rateLimit,
    pageSize: args.pageSize,
    duplicateNames: args.duplicateNames,
    existingMember: args.existingMember,
    appliedFaultRate: args.appliedFaultRate,
    malformedRate: args.malformedRate,
    faultMix: args.faultMix,
    itemFaultRate: args.itemFaultRate,
    itemFaultMix: args.itemFaultMix,
    itemsOneByOne: args.itemsOneByOne ?? false,
    markedPerUser: args.markedPerUser,
    contactItemRequired: args.contactItemRequired ?? false,
    oldGroupNameMaxBytes: args.oldGroupNameLimit,
    seed: args.seed,
    knownUsers,
    stateFile: args.stateFile === undefined ? undefined : resolve(io.cwd, args.stateFile),
    allowNonLoopback: args.allowNonLoopback ?? false,
  };
  const emulator = await startEmulator(options);
  writeLine(io.stdout, `emulator listening on ${emulator.url}`);
  await new Promise<void>((done) => {
    if (io.signal === undefined) return; // runs until the process is killed
    if (io.signal.aborted) done();
    else io.signal.addEventListener('abort', () => done(), { once: true });
  });
  await emulator.close();
  writeLine(io.stderr, 'emulator stopped');
  return EXIT.ok;
}
