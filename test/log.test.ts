import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, redactSecrets } from '../src/log.js';

const SIG = 'eJwtilELgjAURv-LfQ5x4qYNetCkJ43AKOltsatcRRtzyCD674H6vX3nnC';
const KEY = '5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e';

function capture() {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString('utf8');
      done();
    },
  });
  return { stream, text: () => text };
}

describe('log redaction', () => {
  it('masks usersig inside URLs and any string, keeps the rest', () => {
    expect(redactSecrets(`https://h/v4/x?sdkappid=1&identifier=admin&usersig=${SIG}&random=3`)).toBe(
      'https://h/v4/x?sdkappid=1&identifier=admin&usersig=[Redacted]&random=3',
    );
  });

  it('never writes a UserSig or a SecretKey, whether as a field, in a URL or in the message', async () => {
    const out = capture();
    const logger = createLogger({ destination: out.stream });
    logger.info({ secretKey: KEY, url: `http://127.0.0.1/v4/a?usersig=${SIG}&random=1` }, 'calling');
    logger.info({ config: { userSig: SIG, secretKey: KEY } }, 'config');
    logger.warn(`retrying http://127.0.0.1/v4/a?usersig=${SIG}`);
    logger.flush();
    await new Promise((r) => setTimeout(r, 20));
    expect(out.text()).toContain('calling');
    expect(out.text()).not.toContain(SIG);
    expect(out.text()).not.toContain(KEY);
    expect(out.text().match(/\[Redacted\]/g)?.length).toBeGreaterThanOrEqual(5);
  });
});
