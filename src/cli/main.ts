#!/usr/bin/env node
import { setMaxListeners } from 'node:events';
import { runCli } from './run.js';

// The thin entry point: the only place that reads process.argv and sets the process exit code.
const controller = new AbortController();
// Every waiting call of a run listens to this signal: hundreds of listeners are expected.
setMaxListeners(0, controller.signal);
let signals = 0;
const onSignal = (signal: NodeJS.Signals): void => {
  signals += 1;
  if (signals > 1) process.exit(signal === 'SIGINT' ? 130 : 143);
  controller.abort(new Error(`received ${signal}`));
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
  signal: controller.signal,
});
