import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEmulator } from '../emulator/index.js';
import { SyncError } from '../errors.js';
import { createEndpointLimiters } from '../executor/rate/limiters.js';
import { renderText } from '../planner/report-text.js';
import { runApplyJob } from '../sync/apply-job.js';
import { runPlanJob } from '../sync/plan-job.js';
import { formatDrift, runVerifyJob } from '../sync/verify-job.js';
import { TencentClient } from '../tencent/client.js';
import { VERSION } from '../version.js';
import { applyExitCode } from './apply.js';
import { type CliIo, describeError, EXIT, type ExitCode, writeLine } from './io.js';
import { createProgress, formatSummary } from './progress.js';

export interface DemoArgs {
  input?: string;
  dir: string;
}

const SAMPLE = fileURLToPath(new URL('../../samples/demo.csv', import.meta.url));

/**
 * `cgsync demo` (`npm start`): the one-off migration on a sample, end to end, against an emulator it
 * starts itself (50 ms latency, a few injected faults), with no configuration: plan report, apply with
 * a checkpoint, verify.
 */
export async function runDemo(args: DemoArgs, io: CliIo): Promise<ExitCode> {
  const input = args.input === undefined ? SAMPLE : resolve(io.cwd, args.input);
  const dir = resolve(io.cwd, args.dir);
  // The folder is emptied first: an input inside it would be deleted before it is read.
  const inside = relative(dir, input);
  if (inside === '' || (!inside.startsWith('..') && !isAbsolute(inside))) {
    throw new SyncError(
      'USAGE',
      `--input ${input} is inside --dir ${dir}, which the demo empties first: give another --dir`,
      { path: input },
    );
  }
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const sdkAppId = 1400000000;
  const secretKey = randomBytes(32).toString('hex'); // lives in this process only
  const emulator = await startEmulator({
    sdkAppId,
    secretKey,
    latencyMs: 50,
    jitterMs: 20,
    faultRate: 0.02,
    lostRate: 0.005,
    http502Rate: 0.005,
  });
  writeLine(
    io.stderr,
    `emulator listening on ${emulator.url} (50±20 ms latency, 2% transient faults, 0.5% lost answers)`,
  );
  const api = new TencentClient({ sdkAppId, secretKey, endpoint: emulator.url });
  const scheduler = createEndpointLimiters();
  const paths = {
    html: resolve(dir, 'report.html'),
    md: resolve(dir, 'report.md'),
    plan: resolve(dir, 'plan.ndjson'),
    checkpoint: resolve(dir, 'checkpoint.ndjson'),
    failures: resolve(dir, 'failures.csv'),
  };
  try {
    writeLine(io.stderr, `\n1/3 plan ${input}`);
    const planned = await runPlanJob({
      input,
      mode: 'merge',
      assumeEmpty: false,
      out: paths.plan,
      reports: [paths.html, paths.md],
      made: {
        at: new Date().toISOString(),
        by: `cgsync ${VERSION}`,
        target: { sdkAppId, host: api.baseUrl.host },
      },
      reportHeader: {
        input,
        toolVersion: `cgsync ${VERSION}`,
        target: `SDKAppID ${sdkAppId} at ${api.baseUrl.host} (the demo's emulator)`,
        madeAt: new Date().toISOString(),
      },
      api,
      scheduler,
      ...(io.signal === undefined ? {} : { signal: io.signal }),
    });
    io.stdout.write(renderText(planned.summary));

    writeLine(io.stderr, '\n2/3 apply (merge mode, resumable checkpoint)');
    const applied = await runApplyJob({
      input,
      checkpoint: paths.checkpoint,
      failures: paths.failures,
      mode: 'merge',
      assumeEmpty: false,
      api,
      scheduler,
      ...(io.signal === undefined ? {} : { signal: io.signal }),
      onPlanned: () =>
        createProgress({
          stream: io.stderr,
          totals: {
            ops: planned.summary.calls.create_contact_group + planned.summary.calls.update_contact_group,
          },
        }),
    });
    const code = applyExitCode(applied);
    if (applied.run !== undefined) {
      io.stdout.write(formatSummary(applied.run));
    }
    if (applied.run?.fatal !== undefined) writeLine(io.stderr, `error: ${describeError(applied.run.fatal)}`);
    if (code === EXIT.interrupted || code === EXIT.fatal) return code;

    writeLine(io.stderr, '\n3/3 verify: read everything back and compare');
    const verified = await runVerifyJob({ input, mode: 'merge', api, scheduler });
    io.stdout.write(formatDrift(verified));
    const stats = emulator.stats().endpoints;
    const peak = Math.max(...Object.values(stats).map((s) => s.maxInWindow));
    const limited = Object.values(stats).reduce((n, s) => n + s.rateLimited, 0);
    writeLine(
      io.stdout,
      `\nemulator: busiest 1 s window ${peak} calls on one endpoint (limit 200), ${limited} rate-limit answers`,
    );
    writeLine(io.stdout, `report:     ${paths.html}`);
    writeLine(io.stdout, `            ${paths.md}`);
    writeLine(io.stdout, `plan:       ${paths.plan}`);
    writeLine(io.stdout, `checkpoint: ${paths.checkpoint}`);
    if (applied.failuresWritten > 0) writeLine(io.stdout, `failures:   ${paths.failures}`);
    return verified.usersWithDrift === 0 ? code : EXIT.fatal;
  } finally {
    await scheduler.stop();
    await api.close();
    await emulator.close();
  }
}
