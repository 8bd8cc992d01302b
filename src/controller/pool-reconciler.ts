// The steps of one InstancePool reconcile (the order is Reconciler's):
// observe the members once (the list, corrected by the actors), plan with the
// pure pool rules, start the plan's creates and removes through the lifecycle
// actors and return. It never waits for the engine: members come up and go
// away in the background, and each of their transitions (created, probe
// passed or failed, gone) wakes the pool again. Members being removed are
// terminating: they hold their place within maxSize and are never warm.
import { randomBytes } from 'node:crypto';
import { containerNameFor, desiredPool, ownerLabels } from '../reconcile/desired.js';
import type { ControllerPolicy } from '../spec/policy.js';
import { keyString, parseKeyString, type InstancePool, type ResourceKey } from '../spec/schema.js';
import { claimLabelIsStale } from '../reconcile/claim/claim-label.js';
import { planPool } from '../reconcile/pool/plan-pool.js';
import { formatPoolPlan } from '../reconcile/pool/format.js';
import { poolStatus } from '../reconcile/pool/status.js';
import type { PoolStatus } from '../reconcile/pool/status-types.js';
import { observeMembers, type MemberObservation } from '../reconcile/pool/member-observation.js';
import type { DesiredPool, PoolAction, PoolPlan } from '../reconcile/pool/types.js';
import { LABEL, type ObservedContainer, type Runtime } from '../runtime/types.js';
import type { Supervisor } from '../lifecycle/supervisor.js';
import type { StoredEntry } from './resource-store.js';
import type { EventRecorder } from './event-recorder.js';
import type { ClaimBinder } from './claim-binder.js';
import type { ClaimState } from '../state/claim-state.js';
import type { Clock } from '../time/clock.js';
import { DesiredCache } from './desired-cache.js';
import type { ExitNotices } from './exit-notices.js';
import type { PlanContext, ReconcileSteps, StatusInput } from './reconciler.js';

export interface PoolStepsDeps {
  controllerId: string;
  runtime: Runtime;
  supervisor: Supervisor;
  recorder: EventRecorder;
  binder: ClaimBinder;
  claims: ClaimState;
  policy: ControllerPolicy;
  clock: Clock;
  logger?: { warn?(o: object, msg?: string): void };
  /** Deaths the engine told of before its list shows them: inspected instead of listed. */
  exits?: ExitNotices;
}

/** What one pool reconcile observed. */
export interface PoolWorld {
  seen: MemberObservation;
  /** Operations the actors gave up on since the last reconcile: the first is the act error. */
  failures: Error[];
  pendingClaims: number;
  /** Epoch ms before which creates wait (recent creates failed). */
  createsHeldUntil?: number;
}

const INITIAL_CREATE_BACKOFF_MS = 500;
const MAX_CREATE_BACKOFF_MS = 5 * 60_000;
/** Failures older than this are forgotten: the next one starts the backoff afresh. */
const FAILURE_MEMORY_MS = 10 * 60_000;

/** Short random member ids, like a ReplicaSet's pod suffixes. */
const randomMemberId = (): string => randomBytes(3).toString('hex').slice(0, 5);

export class PoolSteps implements ReconcileSteps<DesiredPool, PoolWorld, PoolPlan> {
  private readonly desiredOf = new DesiredCache<InstancePool, DesiredPool>((r) => desiredPool(r, this.d.policy));
  readonly recheckAfterPrune = false;
  /** pool -> recent create/start failures: creates wait out an exponential backoff, so a refused create never loops hot. */
  private readonly createFailures = new Map<string, { count: number; lastAt: number }>();

  constructor(private readonly d: PoolStepsDeps) {}

  desired(entry: StoredEntry): DesiredPool {
    return this.desiredOf.get(entry.resource as InstancePool);
  }

  async observe(key: ResourceKey, desired: DesiredPool | undefined, signal: AbortSignal): Promise<PoolWorld> {
    const { supervisor } = this.d;
    // The actors know what happened since the list was taken.
    const listStartedAt = performance.now();
    const fromList = await this.d.runtime.list({ managedBy: this.d.controllerId, kind: 'InstancePool', namespace: key.namespace, name: key.name }, signal);
    const listed = this.d.exits ? await this.d.exits.correct(fromList, signal) : fromList;
    this.releaseStaleLabelled(key, listed);
    this.releaseUntrusted(key, listed);
    const corrected = supervisor.observe(key, listed, desired?.template.healthCheck, desired?.template.stopGracePeriodSeconds ?? 10, listStartedAt);
    const failures = supervisor.takeFailures(key);
    const held = this.noteFailures(keyString(key), failures.length, this.d.clock.now());
    return { ...this.worldOf(key, corrected), failures, ...(held !== undefined ? { createsHeldUntil: held } : {}) };
  }

  /** The world a resync snapshot shows, without touching the actors (needsReconcile). */
  snapshotWorld(key: ResourceKey, listed: ObservedContainer[]): PoolWorld {
    const held = this.heldUntil(keyString(key));
    return { ...this.worldOf(key, listed), failures: [], ...(held !== undefined ? { createsHeldUntil: held } : {}) };
  }

  plan(ctx: PlanContext<DesiredPool, PoolWorld>): PoolPlan {
    const { world } = ctx;
    return planPool({
      controllerId: this.d.controllerId,
      key: ctx.key,
      desired: ctx.desired,
      members: world.seen.members,
      terminating: world.seen.terminating,
      pendingClaims: world.pendingClaims,
      now: ctx.now,
      ...(world.createsHeldUntil !== undefined ? { createsHeldUntil: world.createsHeldUntil } : {}),
      pruneDisabled: ctx.pruneDisabled,
      newMemberId: randomMemberId,
    });
  }

  describe(plan: PoolPlan): string {
    return formatPoolPlan(plan);
  }

  /** Starts every action and returns: the actors carry them out and report back through their transitions. */
  execute(ctx: PlanContext<DesiredPool, PoolWorld>, plan: PoolPlan): Promise<{ world: PoolWorld; error?: unknown }> {
    for (const a of plan.actions) this.start(ctx.key, ctx.desired, a);
    this.forgetGoneMembers(ctx.key, ctx.world.seen.present);
    // Waiting claims bind to members that are ready now (a recycle may have freed one).
    if (ctx.desired) this.d.binder.memberChanged(ctx.key);
    const error = ctx.world.failures[0];
    return Promise.resolve({ world: ctx.world, ...(error ? { error } : {}) });
  }

  status(input: StatusInput<DesiredPool, PoolWorld, PoolPlan>): PoolStatus {
    const { key, world, plan } = input;
    // What the plan just started removing is terminating now, and no longer a member of any other kind
    // (counted as both, replicas overstated the pool: 12 for 6 Pods after a failover).
    const removing = new Set(plan?.actions.flatMap((a) => (a.type === 'remove' ? [a.containerId] : [])));
    const members = (world?.seen.members ?? []).filter((m) => !removing.has(m.container.id));
    return poolStatus({
      desired: input.desired,
      generation: input.generation,
      members,
      terminating: (world?.seen.terminating ?? 0) + ((world?.seen.members.length ?? 0) - members.length),
      controllerId: this.d.controllerId,
      plan: plan ?? { key, actions: [], rollout: { updated: 0, total: 0, done: true } },
      pendingClaims: this.d.binder.pendingCount(key),
      claimWait: this.d.binder.waitFigures(key),
      ...(input.actError ? { actError: input.actError } : {}),
      ...(input.previous ? { previous: input.previous as PoolStatus } : {}),
      now: input.now,
    });
  }

  pruned(plan: PoolPlan, world: PoolWorld): boolean {
    return plan.actions.length === 0 && world.seen.present.size === 0;
  }

  forget(key: ResourceKey): void {
    this.createFailures.delete(keyString(key));
  }

  private worldOf(key: ResourceKey, listed: ObservedContainer[]): Omit<PoolWorld, 'failures'> {
    const poolId = keyString(key);
    const seen = observeMembers({ key, listed, actors: this.d.supervisor.views(key), record: (m) => this.d.claims.member(poolId, m) });
    return { seen, pendingClaims: this.d.binder.pendingCount(key) };
  }

  /** Records the failures just taken; returns the epoch ms from which creates may start again. */
  private noteFailures(poolId: string, failed: number, now: number): number | undefined {
    if (failed > 0) this.createFailures.set(poolId, { count: (this.createFailuresOf(poolId, now)?.count ?? 0) + 1, lastAt: now });
    return this.heldUntil(poolId, now);
  }

  private createFailuresOf(poolId: string, now: number): { count: number; lastAt: number } | undefined {
    const f = this.createFailures.get(poolId);
    if (f && now - f.lastAt > FAILURE_MEMORY_MS) {
      this.createFailures.delete(poolId);
      return undefined;
    }
    return f;
  }

  private heldUntil(poolId: string, now = this.d.clock.now()): number | undefined {
    const f = this.createFailuresOf(poolId, now);
    return f ? f.lastAt + Math.min(MAX_CREATE_BACKOFF_MS, INITIAL_CREATE_BACKOFF_MS * 2 ** (f.count - 1)) : undefined;
  }

  private start(key: ResourceKey, desired: DesiredPool | undefined, action: PoolAction): void {
    const { supervisor, recorder, claims, clock } = this.d;
    const poolId = keyString(key);
    const involved = { kind: 'InstancePool' as const, namespace: key.namespace, name: key.name };
    switch (action.type) {
      case 'create': {
        const labels = ownerLabels(this.d.controllerId, key, desired!.hash, clock.now(), action.member);
        supervisor.launch(key, { name: containerNameFor(key, action.member), template: desired!.template, labels }, desired!.template.healthCheck);
        return;
      }
      case 'remove': {
        supervisor.terminate(key, action.containerId, action.graceSeconds, action.member);
        recorder.record({ type: 'Normal', reason: 'MemberRemoved', message: `removing member ${action.member}: ${action.cause}`, involvedObject: involved });
        return;
      }
      case 'recycle': {
        const rec = claims.member(poolId, action.member);
        claims.setMember(poolId, action.member, { uses: rec.uses, recycledAt: clock.now() });
        this.d.binder.memberHandled(rec.releasedBy);
        // Clean again: no claim label (removed on release too; this catches one a crashed leader left).
        void this.d.runtime.setClaimLabel?.(action.containerId, undefined).catch((e: Error) => this.d.logger?.warn?.({ member: action.member, err: e.message }, 'claim label not removed'));
        // It serves again once a probe passes after this: probe it now rather than at its next period.
        supervisor.reprobe(action.containerId);
        void claims.commit().catch((e: Error) => this.d.logger?.warn?.({ err: e.message }, 'claim state not written'));
        return;
      }
    }
  }

  /**
   * A Pod labelled for a claim that does not hold it (a leader bound it and
   * died before, or while, the claim recorded it) may have been handed out:
   * it is released, so the pool recycles it per its policy, before any claim
   * can take it as warm.
   */
  private releaseStaleLabelled(key: ResourceKey, listed: readonly ObservedContainer[]): void {
    const poolId = keyString(key);
    const { claims } = this.d;
    for (const c of listed) {
      const label = c.labels[LABEL.claim];
      if (c.member === undefined || label === undefined) continue;
      const rec = claims.member(poolId, c.member);
      if (rec.released || !claimLabelIsStale(label, rec.claim !== undefined ? parseKeyString(rec.claim).name : undefined, rec.recycledAt)) continue;
      claims.setMember(poolId, c.member, { ...rec, released: true });
      this.d.recorder.record({ type: 'Warning', reason: 'MemberNotClean', message: `member ${c.member} is labelled for claim ${label}, which does not hold it: recycled, not handed out as warm`, involvedObject: { kind: 'InstancePool', namespace: key.namespace, name: key.name } });
    }
  }

  /**
   * A claim of this pool had its binding changed outside berth while no
   * leader acted (ClaimState.rebuildFrom): the member it really held is
   * unknown, so every member no claim holds is released and recycled per
   * the pool's policy before any claim can take it as warm. Once, at the
   * first list after the rebuild: members made later are this leader's own.
   */
  private releaseUntrusted(key: ResourceKey, listed: readonly ObservedContainer[]): void {
    const poolId = keyString(key);
    const { claims } = this.d;
    if (!claims.takeUntrusted(poolId)) return;
    const released: string[] = [];
    for (const c of listed) {
      if (c.member === undefined) continue;
      const rec = claims.member(poolId, c.member);
      if (rec.released || rec.claim !== undefined) continue;
      claims.setMember(poolId, c.member, { ...rec, released: true });
      released.push(c.member);
    }
    if (!released.length) return;
    this.d.recorder.record({
      type: 'Warning',
      reason: 'MemberNotClean',
      message: `a claim's binding was changed outside berth while no leader acted, so the member it held is unknown: ${released.join(', ')} recycled, not handed out as warm`,
      involvedObject: { kind: 'InstancePool', namespace: key.namespace, name: key.name },
    });
  }

  /**
   * A member's record (uses, released) is kept until its container is gone:
   * a released member that still exists after a crash must never look warm.
   */
  private forgetGoneMembers(pool: ResourceKey, present: Set<string>): void {
    const poolId = keyString(pool);
    const held = new Set<string>();
    for (const [, r] of this.d.claims.claimsOf(poolId)) if (r.phase === 'Bound' && r.member !== undefined) held.add(r.member);
    // A claim holds a member this list did not find: its claim says so (the binder forgets the member).
    const lost = [...held].filter((m) => !present.has(m));
    if (lost.length) this.d.binder.membersGone(pool, lost);
    let changed = false;
    for (const member of this.d.claims.membersOf(poolId)) {
      if (present.has(member) || held.has(member)) continue;
      const releasedBy = this.d.claims.member(poolId, member).releasedBy;
      this.d.claims.forgetMember(poolId, member);
      this.d.binder.memberHandled(releasedBy);
      changed = true;
    }
    if (changed) void this.d.claims.commit().catch((e: Error) => this.d.logger?.warn?.({ err: e.message }, 'claim state not written'));
  }
}
