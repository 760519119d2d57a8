/** Worker-thread entry of the planning pool (plan-pool.ts): plans the units it is sent, one at a time. */
import { serveJobs } from '../threads.js';
import { type PlanUnit, type PlanUnitOptions, type PlanUnitResult, planUnit } from './plan-unit.js';

serveJobs<PlanUnit, PlanUnitResult, never, void, PlanUnitOptions>((unit, { data }) => planUnit(unit, data));
