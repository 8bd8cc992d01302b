// `berth wait --for=...`: what is being waited for, and whether an object
// meets it now (pure, so it is tested with literals).
import { CliError } from './errors.js';
import { conditionOf, statusString, type ApiObject } from './objects.js';

export type WaitFor = { type: 'condition'; condition: string; status: string } | { type: 'delete' };

/** "condition=Ready", "condition=Ready=False", "delete". */
export function parseWaitFor(text: string): WaitFor {
  if (text === 'delete') return { type: 'delete' };
  const m = /^condition=([^=]+)(?:=(.+))?$/.exec(text);
  if (!m) throw new CliError(`unrecognized --for ${JSON.stringify(text)} (use condition=NAME, condition=NAME=STATUS or delete)`);
  return { type: 'condition', condition: m[1]!, status: m[2] ?? 'True' };
}

export interface WaitState {
  met: boolean;
  /** Why not (yet), for the timeout message: "Ready=False, reason: CrashLoopBackOff: ...". */
  summary: string;
}

/**
 * Whether `object` (undefined: it does not exist) meets `want`. A condition
 * written for an older generation does not count: after an apply, waiting for
 * Ready waits for the controller to have seen the new spec.
 */
export function evaluateWait(object: ApiObject | undefined, want: WaitFor): WaitState {
  if (want.type === 'delete') return object ? { met: false, summary: 'still exists' } : { met: true, summary: 'deleted' };
  if (!object) return { met: false, summary: 'the object does not exist' };
  const c = conditionOf(object, want.condition);
  if (!c) {
    const phase = statusString(object, 'phase');
    return { met: false, summary: `no ${want.condition} condition yet${phase ? `, phase: ${phase}` : ''}` };
  }
  const detail = [c.reason, c.message].filter((s) => s && s.length > 0).join(': ');
  let summary = `${c.type}=${c.status}${detail ? `, reason: ${detail}` : ''}`;
  const generation = object.metadata.generation;
  const stale = c.observedGeneration !== undefined && generation !== undefined && c.observedGeneration < generation;
  if (stale) summary += `; observed generation ${c.observedGeneration}, current ${generation}`;
  return { met: !stale && c.status.toLowerCase() === want.status.toLowerCase(), summary };
}
