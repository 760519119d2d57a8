import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import type { EmulatorOptions } from '../../src/emulator/index.js';
import { createEndpointLimiters, type EndpointScheduler } from '../../src/executor/rate/limiters.js';
import { TencentClient } from '../../src/tencent/client.js';
import { tempDir } from '../faults/fixtures.js';
import { startTestEmulator, type TestEmulator } from './emulator.js';

/** What a test file's jobs run against: set by the hooks {@link useJobHarness} registers. */
export interface JobHarness {
  /** One emulator for the file, reset before each test. */
  t: TestEmulator;
  /** A folder for the file's inputs and outputs, removed after it. */
  dir: { readonly path: string; remove(): Promise<void> };
  /** A client and a rate budget per test, closed after it. */
  api: TencentClient;
  scheduler: EndpointScheduler;
}

/**
 * Registers the hooks of a file whose tests run jobs in this process (`runApplyJob` and the like)
 * against an emulator: the returned object's fields are set by them (read them inside tests).
 */
export function useJobHarness(
  name: string,
  options: { readonly emulator?: Partial<EmulatorOptions>; readonly rate?: number } = {},
): JobHarness {
  const h = {} as JobHarness;
  beforeAll(async () => {
    h.t = await startTestEmulator(options.emulator);
    h.dir = await tempDir(name);
  });
  afterAll(async () => {
    await h.t?.close();
    await h.dir?.remove();
  });
  beforeEach(() => {
    h.t.emulator.reset();
    h.api = new TencentClient({
      sdkAppId: Number(h.t.env.TENCENT_SDKAPPID),
      secretKey: h.t.secretKey,
      endpoint: h.t.emulator.url,
    });
    h.scheduler = createEndpointLimiters({ rate: options.rate ?? 5000 });
  });
  afterEach(async () => {
    await h.scheduler.stop();
    await h.api.close();
  });
  return h;
}
