// A `cgsync` entry point for tests: the real one (dist/cli/process-main.js, signals included) with a
// phase hook. It prints `phase <name>` on stderr as each phase of a job begins, and with
// CGSYNC_TEST_PAUSE_AT=<phase> holds the job in that phase until a signal arrives (at most 10 s), so a
// test can land SIGINT, SIGTERM or SIGHUP inside a phase that is otherwise over in a moment.
import { runMain } from '../../dist/cli/process-main.js';

const pauseAt = process.env.CGSYNC_TEST_PAUSE_AT;
let signalled;
const received = new Promise((resolve) => {
  signalled = resolve;
});
for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(s, () => signalled());

await runMain(process.argv.slice(2), {
  onPhase: async (phase) => {
    process.stderr.write(`phase ${phase}\n`);
    if (phase === pauseAt) {
      let timer;
      await Promise.race([received, new Promise((resolve) => (timer = setTimeout(resolve, 10_000)))]);
      clearTimeout(timer);
    }
  },
});
