// A worker entry for test/threads.test.ts, on the built protocol (dist/threads.js, built by
// test/global-setup.ts): jobs that throw, ask the parent questions, or wait to be cancelled.
import { SyncError } from '../../dist/errors.js';
import { serveJobs } from '../../dist/threads.js';

serveJobs(async (job, { tell, signal, data }) => {
  switch (job.kind) {
    case 'throw':
      throw new SyncError('INVALID_INPUT', 'line 42: bad', { line: 42, path: 'in.csv' });
    case 'throw-plain':
      throw new TypeError('not a SyncError');
    case 'ask': {
      const answers = [];
      for (const question of job.questions) {
        try {
          answers.push(await tell(question));
        } catch (error) {
          answers.push({ refused: error.message, code: error.code });
        }
      }
      return { answers, data };
    }
    case 'wait':
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
      return 'cancelled';
    case 'exit':
      process.exit(3);
  }
  return undefined;
});
