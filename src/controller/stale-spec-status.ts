// A resource whose spec file no longer validates keeps running its last valid
// spec (a bad edit never stops a running container), and its status says so,
// as the Kubernetes source does and as Flux shows a revision it could not
// apply: Ready=False, reason InvalidSpec, the file, line and field, and which
// generation still runs. Everything else in the status stays as observed.
import { setCondition, type Condition } from '../spec/status.js';

export interface StaleSpec {
  /** The file's errors, located (`specs/pool.yaml:7 spec.minReady: ...`). */
  message: string;
}

export function withStaleSpec<S extends { conditions: Condition[] }>(status: S, stale: StaleSpec, previous: object | undefined, generation: number, now: number): S {
  // metav1: lastTransitionTime moves only when the status does; the status computed
  // just now knows nothing of the overlay, so the stored one decides.
  const before = (previous as { conditions?: Condition[] } | undefined)?.conditions?.find((c) => c.type === 'Ready');
  const base = before?.status === 'False' ? [...status.conditions.filter((c) => c.type !== 'Ready'), before] : status.conditions;
  const message = `${stale.message}; the last valid spec (generation ${generation}) still runs`;
  return { ...status, conditions: setCondition(base, { type: 'Ready', status: 'False', reason: 'InvalidSpec', message, observedGeneration: generation }, new Date(now).toISOString()) };
}
