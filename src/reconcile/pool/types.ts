// The pool planner's vocabulary: a desired InstancePool, its members as the
// controller observes them (the container plus what the lifecycle machine,
// the prober and the claim binder know about it), and the plan's actions.
import type { ConfigHash } from '../../spec/hash.js';
import type { EffectiveTemplate } from '../../spec/policy.js';
import type { InstancePoolSpec, ResourceKey } from '../../spec/schema.js';
import type { ObservedContainer } from '../../runtime/types.js';
import type { Waiting } from '../types.js';

export interface DesiredPool {
  key: ResourceKey & { kind: 'InstancePool' };
  spec: InstancePoolSpec;
  /** spec.template with the controller's defaults applied. */
  template: EffectiveTemplate;
  hash: ConfigHash;
  annotations: Record<string, string>;
  /**
   * The desired config hash in older hash formats, keyed by version (as for
   * DesiredInstance). Optional: the planner computes a missing one.
   */
  hashesByVersion?: Record<string, ConfigHash>;
}

/**
 * A member's health from the lifecycle machine and berth's probes: `starting`
 * covers created, starting and probing (not yet passing its health check).
 */
export type MemberHealth = 'starting' | 'ready' | 'unhealthy' | 'exited';

export interface ObservedMember {
  /** The member id is container.member (label berth.dev/member). */
  container: ObservedContainer;
  health: MemberHealth;
  /**
   * The key string of the claim the member is bound to. Set only while bound:
   * the controller clears it when it sets `released`. A member with claimedBy
   * is never removed or recycled while its pool exists, whatever `released` says.
   */
  claimedBy?: string;
  /** Its claim was released (or expired) and it awaits recycling. */
  released?: boolean;
  /** How many claims it has served. */
  uses: number;
  /** Epoch ms since it became warm (ready and unclaimed). */
  idleSince: number;
}

export interface PoolPlanInput {
  /** Only containers with this managed-by label are ever touched. */
  controllerId: string;
  key: ResourceKey;
  /** undefined: the pool's spec is gone (prune). */
  desired: DesiredPool | undefined;
  /** Members as observed (any managed-by, any key: the planner filters). */
  members: ObservedMember[];
  /** Claims of this pool waiting for a member: the pool grows to serve them. */
  pendingClaims: number;
  /**
   * Members being stopped or removed (left out of `members`): they count
   * toward maxSize until they are gone, and are never warm. Default 0.
   */
  terminating?: number;
  now: number;
  /**
   * Epoch ms before which no member is created: recent creates failed and
   * back off (a refused create never loops hot). Absent: creates may start now.
   */
  createsHeldUntil?: number;
  /** The deleted spec carried `berth.dev/prune: disabled` (read only when desired is undefined). */
  pruneDisabled?: boolean;
  /**
   * Member ids for creates, called with 0, 1, 2, ...; an id already in use
   * (by a member or an earlier create of this plan) is skipped. Random in the
   * controller, deterministic in tests.
   */
  newMemberId: (i: number) => string;
}

export type PoolAction =
  | { type: 'create'; member: string; cause: string }
  /** graceSeconds: how long it may take to stop before it is killed. */
  | { type: 'remove'; containerId: string; member: string; cause: string; graceSeconds: number }
  /** Reuse: a released member goes back to warm (the controller re-probes it before it is bound again). */
  | { type: 'recycle'; containerId: string; member: string; cause: string };

export interface PoolRollout {
  /** Members (claimed included) that carry the desired config hash and are within maxAgeSeconds. */
  updated: number;
  /** All members. */
  total: number;
  /** updated === total: claimed members count, as they are replaced after release. */
  done: boolean;
}

export interface PoolPlan {
  key: ResourceKey;
  /** Removes and recycles first, then creates; each group in a deterministic order. */
  actions: PoolAction[];
  /** Epoch ms when a time rule next falls due (max age, idle timeout), if any. */
  nextDeadline?: number;
  /** Why the pool stays as it is although it is not as desired: PruneDisabled, RolloutBlocked, PlanFailed. */
  waiting?: Waiting;
  rollout: PoolRollout;
}
