import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run.js';
import { verifyUserSig } from '../../src/tencent/usersig.js';
import { memoryIo } from '../helpers/io.js';

const KEY = '5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e';

describe('cgsync usersig', () => {
  it('prints a verifiable admin UserSig on the last line of stdout', async () => {
    const io = memoryIo({ TENCENT_SDKAPPID: '1400000000', TENCENT_SECRET_KEY: KEY });
    expect(await runCli(['usersig', '--expire', '600'], io)).toBe(0);
    const lines = io.out().trimEnd().split('\n');
    const sig = lines[lines.length - 1] ?? '';
    const verdict = verifyUserSig(sig, { sdkAppId: 1400000000, secretKey: KEY, identifier: 'administrator' });
    expect(verdict.ok).toBe(true);
    expect(io.err()).not.toContain(KEY);
  });

  it('reports every configuration problem at once, exit 1, without echoing secrets', async () => {
    const io = memoryIo({ TENCENT_SDKAPPID: 'abc' });
    expect(await runCli(['usersig'], io)).toBe(1);
    expect(io.err()).toContain('SDKAppID must be a positive integer, got "abc"');
    expect(io.err()).toContain('SecretKey is missing');
  });

  it('rejects a bad --expire with what was expected and what was given', async () => {
    const io = memoryIo({ TENCENT_SDKAPPID: '1', TENCENT_SECRET_KEY: KEY });
    expect(await runCli(['usersig', '--expire', '0'], io)).toBe(1);
    expect(io.err()).toContain(
      'Expected --expire to be a whole number of seconds from 1 to 315360000, or a duration such as 12h or 1d, got "0"',
    );
  });
});
