// The emulator's public surface: re-exports only.

export { type FaultDecision, FaultInjector, type FaultKind, mulberry32 } from './faults.js';
export {
  type DuplicateNames,
  EMULATOR_DEFAULTS,
  type EmulatorOptions,
  type ExistingMember,
  isLoopbackHost,
  parseKnownUsers,
  type ResolvedEmulatorOptions,
  resolveEmulatorOptions,
} from './options.js';
export { readStateFile, StateFileWriter, writeFileAtomic } from './persistence.js';
export { SlidingWindowLimiter } from './rate-limit.js';
export {
  type EmulatorStats,
  type EndpointStats,
  type RunningEmulator,
  startEmulator,
} from './server.js';
export { type EmulatorState, parseSnapshot, type StateGroup, type StoreSnapshot } from './snapshot.js';
export { ContactGroupStore, type StoreOptions, type StoreResponse } from './store.js';
