import { randomBytes } from 'node:crypto';
import { type EmulatorOptions, type RunningEmulator, startEmulator } from '../../src/emulator/index.js';

export interface TestEmulator {
  readonly emulator: RunningEmulator;
  /** Environment for runCli pointing at the emulator. */
  readonly env: Record<string, string>;
  readonly secretKey: string;
  /** The emulator's state as { user: { group: sorted conversation keys } }. */
  state(): Record<string, Record<string, string[]>>;
  totalAccepted(): number;
  close(): Promise<void>;
}

export async function startTestEmulator(options: Partial<EmulatorOptions> = {}): Promise<TestEmulator> {
  const secretKey = randomBytes(16).toString('hex');
  const sdkAppId = 1400000000;
  const emulator = await startEmulator({ sdkAppId, secretKey, port: 0, ...options });
  return {
    emulator,
    secretKey,
    env: {
      TENCENT_SDKAPPID: String(sdkAppId),
      TENCENT_SECRET_KEY: secretKey,
      TENCENT_ENDPOINT: emulator.url,
    },
    state: () => appState(emulator.store.state()),
    totalAccepted() {
      return Object.values(emulator.stats().endpoints).reduce((n, e) => n + e.accepted, 0);
    },
    close: () => emulator.close(),
  };
}

/** The emulator's state (`store.state()`, or `GET /__emulator/state`) as { user: { group: sorted conversation keys } }. */
export function appState(snapshot: {
  readonly users: Readonly<
    Record<string, readonly { name: string; members: readonly { type: number; id: string }[] }[]>
  >;
}): Record<string, Record<string, string[]>> {
  const out: Record<string, Record<string, string[]>> = {};
  for (const [user, groups] of Object.entries(snapshot.users)) {
    const g: Record<string, string[]> = {};
    for (const group of groups) g[group.name] = group.members.map((m) => `${m.type}:${m.id}`).sort();
    out[user] = g;
  }
  return out;
}

/** Group names held twice by one user. */
export function duplicateNames(emulator: RunningEmulator): string[] {
  const dups: string[] = [];
  for (const [user, groups] of Object.entries(emulator.store.state().users)) {
    const seen = new Set<string>();
    for (const g of groups) {
      if (seen.has(g.name)) dups.push(`${user}/${g.name}`);
      seen.add(g.name);
    }
  }
  return dups;
}
