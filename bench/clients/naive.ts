/**
 * The client most people write first: one call at a time, one conversation per call. Each group is
 * created with its first conversation, then one update_contact_group per further conversation.
 * Sequential: the next call starts when the previous one answered.
 *
 *   node .bench-build/bench/clients/naive.js <csv> --endpoint URL [--seconds 15]
 *
 * It would take hours on a real export, so it stops calling after `--seconds` and only counts the
 * calls it would still have made; the bench extrapolates the wall time from the rate it reached.
 * Prints one JSON line: calls made per endpoint, the seconds spent calling, calls needed in all.
 */
import { failureOf } from '../../src/tencent/client.js';
import { classifyFailure } from '../../src/tencent/error-codes.js';
import type { Endpoint } from '../../src/tencent/wire.js';
import { clientArgs, emptyCounts, printResult, readUsers, runMain } from './common.js';

runMain(async () => {
  const { csv, client, values } = clientArgs({ seconds: '15' });
  const budgetMs = Number(values.seconds) * 1000;
  const counts = emptyCounts();
  const needed: Record<Endpoint, number> = {
    create_contact_group: 0,
    update_contact_group: 0,
    del_contact_group: 0,
    get_contact_group: 0,
    search_contact_group: 0,
  };
  let callingStarted: number | undefined;
  let callingMs = 0;
  const call = async (endpoint: Endpoint, fn: () => Promise<unknown>): Promise<void> => {
    needed[endpoint]++;
    callingStarted ??= performance.now();
    if (performance.now() - callingStarted >= budgetMs) return;
    counts[endpoint].calls++;
    try {
      await fn();
    } catch (err) {
      const failure = failureOf(err);
      if (failure !== undefined && classifyFailure(failure) === 'rate_limited')
        counts[endpoint].rateLimited++;
      counts[endpoint].failures++; // the naive client does not retry
    }
    callingMs = performance.now() - callingStarted;
  };
  const started = performance.now();
  for await (const user of readUsers(csv)) {
    for (const group of user.groups) {
      const [first, ...rest] = group.conversations;
      await call('create_contact_group', () =>
        client.createGroup(user.user, group.name, first === undefined ? [] : [first]),
      );
      for (const c of rest) {
        await call('update_contact_group', () =>
          client.updateGroupMembers(user.user, group.name, { add: [c], remove: [] }),
        );
      }
    }
  }
  await client.close();
  printResult({ endpoints: counts, needed, callingMs, wallMs: performance.now() - started });
});
