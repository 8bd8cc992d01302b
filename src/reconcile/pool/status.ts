// calculateStatus for an InstancePool, pure: the members as observed (before
// acting, as the ReplicaSet controller counts), the plan, how acting went.
// Conditions keep their lastTransitionTime unless their status changes.
//
//   Ready        True MinimumReady | False PoolBelowMinimum (ready < minReady)
//   Progressing  True ConfigDrift | MaxAgeExceeded (a rollout is not done),
//                True Scaling (members created, removed, recycled or starting),
//                else False Converged
//   Degraded     True <actError.reason> | True <plan.waiting.reason> (RolloutBlocked,
//                PlanFailed; not PruneDisabled), else False AsExpected
import { setCondition, type Condition } from '../../spec/status.js';
import { classify, isWarm, membersOf, type Member } from './members.js';
import type { ClaimWaitStats, PoolStatus } from './status-types.js';
import type { DesiredPool, ObservedMember, PoolAction, PoolPlan } from './types.js';

export interface PoolStatusInput {
  desired: DesiredPool;
  generation: number;
  /** The pool's members as observed; filtered by plan.key (and by controllerId when given). */
  members: ObservedMember[];
  /** Members being removed (not in `members`). */
  terminating?: number;
  controllerId?: string;
  plan: PoolPlan;
  pendingClaims: number;
  claimWait: ClaimWaitStats;
  /** The error acting on the plan ended with, if any. */
  actError?: { reason: string; message: string };
  previous?: PoolStatus;
  now: number;
}

type C = Omit<Condition, 'lastTransitionTime' | 'observedGeneration'>;

export function poolStatus(input: PoolStatusInput): PoolStatus {
  const { desired, plan, now } = input;
  const members = membersOf(input.members, plan.key, input.controllerId).map((m) => classify(desired, m, now));
  const ready = members.filter((m) => isWarm(m) && m.ready).length;
  const claimed = members.filter((m) => m.claimed).length;
  const starting = members.filter((m) => isWarm(m) && !m.ready).length;
  const terminating = Math.max(0, Math.floor(input.terminating ?? 0));
  const updatedReplicas = members.filter((m) => m.hash.matches).length;

  const replicas = members.length + terminating;
  const conditionsNow: C[] = [readyCondition(input, ready, claimed, replicas), progressingCondition(members, plan), degradedCondition(input)];
  let conditions = input.previous?.conditions ?? [];
  const nowIso = new Date(Number.isFinite(now) ? now : 0).toISOString();
  for (const c of conditionsNow) conditions = setCondition(conditions, { ...c, observedGeneration: input.generation }, nowIso);

  return {
    replicas,
    ready,
    claimed,
    starting,
    terminating,
    waiting: Math.max(0, Math.floor(input.pendingClaims)),
    updatedReplicas,
    configHash: desired.hash.hash,
    observedGeneration: input.generation,
    conditions,
    claimWait: { ...input.claimWait },
  };
}

function readyCondition(input: PoolStatusInput, ready: number, claimed: number, replicas: number): C {
  const { minReady, maxSize } = input.desired.spec;
  const counts = `${ready} of ${minReady} warm members ready`;
  if (ready >= minReady) return { type: 'Ready', status: 'True', reason: 'MinimumReady', message: counts };
  const extra = [
    claimed > 0 ? `${claimed} claimed` : '',
    input.pendingClaims > 0 ? `${input.pendingClaims} claim${input.pendingClaims === 1 ? '' : 's'} waiting` : '',
    // Why no member is being added: the cap, not the engine (claimed and terminating members count toward it).
    maxSize !== undefined && replicas >= maxSize ? `maxSize ${maxSize} reached` : '',
  ].filter(Boolean);
  return { type: 'Ready', status: 'False', reason: 'PoolBelowMinimum', message: [counts, ...extra].join('; ') };
}

function progressingCondition(members: readonly Member[], plan: PoolPlan): C {
  const { updated, total, done } = plan.rollout;
  if (!done) {
    const drifted = members.filter((m) => m.stale?.reason === 'drift');
    const fields = [...new Set(drifted.flatMap((m) => (m.hash.matches ? [] : (m.hash.driftedFields ?? []))))].sort();
    const why = drifted.length > 0 ? (fields.length > 0 ? `config hash changed: ${fields.join(', ')}` : 'config hash changed') : 'max age exceeded';
    const waitingForRelease = members.filter((m) => m.claimed && m.stale).length;
    const parts = [`${updated} of ${total} members updated`, why, waitingForRelease === 1 ? '1 claimed member is replaced after release' : waitingForRelease > 1 ? `${waitingForRelease} claimed members are replaced after release` : ''];
    return { type: 'Progressing', status: 'True', reason: drifted.length > 0 ? 'ConfigDrift' : 'MaxAgeExceeded', message: parts.filter(Boolean).join('; ') };
  }
  const starting = members.filter((m) => isWarm(m) && !m.ready).length;
  if (plan.actions.length > 0 || starting > 0) {
    const parts = [summarise(plan.actions), starting > 0 ? `${starting} member${starting === 1 ? '' : 's'} starting` : ''];
    return { type: 'Progressing', status: 'True', reason: 'Scaling', message: parts.filter(Boolean).join('; ') };
  }
  return { type: 'Progressing', status: 'False', reason: 'Converged', message: 'the pool matches its spec' };
}

function degradedCondition(input: PoolStatusInput): C {
  const { actError, plan } = input;
  if (actError) return { type: 'Degraded', status: 'True', reason: actError.reason, message: actError.message };
  if (plan.waiting && plan.waiting.reason !== 'PruneDisabled') return { type: 'Degraded', status: 'True', reason: plan.waiting.reason, message: plan.waiting.message };
  return { type: 'Degraded', status: 'False', reason: 'AsExpected', message: '' };
}

/** "create 2 (below pool minimum); remove 1 (health check failing)", in plan order. */
function summarise(actions: readonly PoolAction[]): string {
  const counts = new Map<string, number>();
  for (const a of actions) {
    const k = `${a.type} (${a.cause})`;
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return [...counts].map(([k, n]) => k.replace(' (', ` ${n} (`)).join('; ');
}
