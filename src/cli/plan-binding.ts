export {
  bindPlanOptions,
  checkPlanTarget,
  type PlanBoundOptions,
  readPlanHeaderIfAny,
} from '../sync/plan-binding.js';

/**
 * When a plan is made: `SOURCE_DATE_EPOCH` (seconds since 1970, the reproducible-builds convention)
 * when set, so that the same input and options give a byte-identical plan; otherwise now. ISO 8601, UTC.
 */
export function madeAt(
  env: Readonly<Record<string, string | undefined>>,
  now: () => Date = () => new Date(),
): string {
  const epoch = env.SOURCE_DATE_EPOCH;
  if (epoch !== undefined && /^\d{1,12}$/.test(epoch.trim())) {
    return new Date(Number(epoch.trim()) * 1000).toISOString();
  }
  return now().toISOString();
}
