/**
 * The phases of a job, reported as each begins (`onPhase`): reading and validating the input (`scan`),
 * reading the app's state (`read`: mirror's read phase, `plan` and `verify`), deciding the deletion
 * guard (`guard`), calling the service (`write`), and the last flush of the checkpoint, state and
 * failures files (`flush`). A callback that returns a promise holds the job until it settles.
 */
export type JobPhase = 'scan' | 'read' | 'guard' | 'write' | 'flush';

export type OnPhase = (phase: JobPhase) => void | Promise<void>;
