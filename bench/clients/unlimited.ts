/**
 * A straightforward concurrent client without a limiter: `--concurrency` users in flight (64), each
 * user's groups created with their first 100 conversations and filled by updates of 100 (the same calls
 * as cgsync's blind plan), no rate limit at all. A rate-limit answer (60007) is retried after a fixed
 * `--retry-delay` (10 ms); a transient error up to 5 times; anything else is counted as failed.
 *
 *   node .bench-build/bench/clients/unlimited.js <csv> --endpoint URL [--concurrency 64] [--retry-delay 10]
 *
 * Prints one JSON line: calls, rate-limit answers, retries and failures per endpoint.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { DesiredUser } from '../../src/model.js';
import { failureOf } from '../../src/tencent/client.js';
import { classifyFailure } from '../../src/tencent/error-codes.js';
import type { Endpoint } from '../../src/tencent/wire.js';
import { clientArgs, emptyCounts, printResult, readUsers, runMain } from './common.js';

const BATCH = 100;

runMain(async () => {
  const { csv, client, values } = clientArgs({ concurrency: '64', 'retry-delay': '10' });
  const concurrency = Number(values.concurrency);
  const retryDelayMs = Number(values['retry-delay']);
  const counts = emptyCounts();

  const call = async (endpoint: Endpoint, fn: () => Promise<unknown>): Promise<void> => {
    let transient = 0;
    for (;;) {
      counts[endpoint].calls++;
      try {
        await fn();
        return;
      } catch (err) {
        const failure = failureOf(err);
        const kind = failure === undefined ? 'fatal' : classifyFailure(failure);
        if (kind === 'rate_limited') {
          counts[endpoint].rateLimited++;
          counts[endpoint].retries++;
          await sleep(retryDelayMs);
        } else if (kind === 'transient' && transient < 5) {
          transient++;
          counts[endpoint].retries++;
        } else {
          counts[endpoint].failures++;
          return;
        }
      }
    }
  };

  const applyUser = async (user: DesiredUser): Promise<void> => {
    for (const group of user.groups) {
      const convs = group.conversations;
      await call('create_contact_group', () =>
        client.createGroup(user.user, group.name, convs.slice(0, BATCH)),
      );
      for (let i = BATCH; i < convs.length; i += BATCH) {
        const add = convs.slice(i, i + BATCH);
        await call('update_contact_group', () =>
          client.updateGroupMembers(user.user, group.name, { add, remove: [] }),
        );
      }
    }
  };

  const started = performance.now();
  const users = readUsers(csv);
  // Workers share one iterator: an async generator queues concurrent next() calls.
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (;;) {
        const next = await users.next();
        if (next.done === true) return;
        await applyUser(next.value);
      }
    }),
  );
  await client.close();
  printResult({ endpoints: counts, wallMs: performance.now() - started });
});
