// When the runtime cannot be observed, what was last known stays in status
// (container id, counts, phase); only Degraded says why nothing is current.
// Rewriting status from an empty observation would report containers gone
// that are most likely still running.
import { setCondition, type Condition } from '../spec/status.js';

export function unobservedStatus<S extends { conditions: Condition[] }>(previous: S, cause: { reason: string; message: string }, generation: number, now: number): S {
  const conditions = setCondition(previous.conditions, { type: 'Degraded', status: 'True', reason: cause.reason, message: cause.message, observedGeneration: generation }, new Date(now).toISOString());
  return { ...previous, conditions };
}
