import { UserSigCache } from '../tencent/usersig.js';
import { type ConnectionFlags, resolveCredentials } from './config.js';
import { type CliIo, EXIT, type ExitCode, writeLine } from './io.js';

export interface UsersigArgs extends ConnectionFlags {
  /** Validity in seconds. @default 86400 */
  expire: number;
}

/** `cgsync usersig`: prints the admin UserSig on the last line of stdout. */
export async function runUsersig(args: UsersigArgs, io: CliIo): Promise<ExitCode> {
  // A target is not needed to sign; accept a missing region/endpoint here.
  const config = resolveCredentials(
    {
      ...args,
      ...((args.region ?? args.endpoint ?? io.env.TENCENT_REGION ?? io.env.TENCENT_ENDPOINT)
        ? {}
        : { region: 'singapore' }),
    },
    io.env,
    io.cwd,
  );
  for (const w of config.warnings) writeLine(io.stderr, `warning: ${w}`);
  const sig = new UserSigCache({
    sdkAppId: config.sdkAppId,
    secretKey: config.secretKey,
    identifier: config.admin,
    expireSeconds: args.expire,
  }).get();
  writeLine(io.stderr, `UserSig for ${config.admin} (SDKAppID ${config.sdkAppId}), valid ${args.expire} s:`);
  writeLine(io.stdout, sig);
  return EXIT.ok;
}
