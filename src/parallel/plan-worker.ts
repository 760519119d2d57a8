/**
 * Worker-thread entry of {@link PlanPool}: plans the units it is sent, one at a time, with the run's
 * options from `workerData`. Messages in: `{ id, unit }`; out: `{ id, result }` or `{ id, error }`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { isSyncError } from '../errors.js';
import { type PlanUnit, type PlanUnitOptions, planUnit } from './plan-units.js';

const port = parentPort;
if (port === null) throw new Error('plan-worker.js runs as a worker thread');
const options = (workerData as { options: PlanUnitOptions }).options;

port.on('message', (message: { id: number; unit: PlanUnit }) => {
  planUnit(message.unit, options).then(
    (result) => port.postMessage({ id: message.id, result }),
    (error: unknown) =>
      port.postMessage({
        id: message.id,
        error: {
          message: error instanceof Error ? error.message : String(error),
          code: isSyncError(error) ? error.code : undefined,
        },
      }),
  );
});
