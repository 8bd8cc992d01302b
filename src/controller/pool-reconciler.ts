// One InstancePool reconcile: load, observe members once, plan (pure), start
// the plan's creates and removes through the lifecycle actors, write status,
// return. It never waits for the engine: members come up and go away in the
// background, and each of their transitions (created, probe passed or failed,
// gone) wakes the pool again. Members being removed are terminating: they
// hold their place within maxSize and are never warm.
import { randomBytes } from 'node:crypto';
import { containerNameFor, desiredPool, ownerLabels } from '../spec/desired.js';
import type { ControllerPolicy } from '../spec/policy.js';
import { keyString, type InstancePool, type ResourceKey } from '../spec/schema.js';
import { planPool } from '../reconcile/pool/plan-pool.js';
import { formatPoolPlan } from '../reconcile/pool/format.js';
import { poolStatus } from '../reconcile/pool/status.js';
import type { PoolStatus } from '../reconcile/pool/status-types.js';
import type { DesiredPool, MemberHealth, ObservedMember, PoolAction } from '../reconcile/pool/types.js';
import { PRUNE_ANNOTATION } from '../reconcile/types.js';
import { LABEL, type ObservedContainer, type Runtime } from '../runtime/types.js';
import type { ActorView, Supervisor } from '../lifecycle/supervisor.js';
import type { ResourceStore } from './resource-store.js';
import type { EventRecorder } from './event-recorder.js';
import type { ClaimBinder } from './claim-binder.js';
import type { ClaimState } from './claim-state.js';
import type { Clock } from './clock.js';
import { errorReason } from './error-reason.js';
import { unobservedStatus } from './unobserved-status.js';

export interface PoolReconcilerDeps {
  controllerId: string;
  store: ResourceStore;
  runtime: Runtime;
  supervisor: Supervisor;
  recorder: EventRecorder;
  binder: ClaimBinder;
  claims: ClaimState;
  policy: ControllerPolicy;
  clock: Clock;
  logger?: { debug(o: object, msg?: string): void; warn?(o: object, msg?: string): void };
  onPruned?: (key: ResourceKey) => void;
}

const INITIAL_CREATE_BACKOFF_MS = 500;
const MAX_CREATE_BACKOFF_MS = 5 * 60_000;
/** Failures older than this are forgotten: the next one starts the backoff afresh. */
const FAILURE_MEMORY_MS = 10 * 60_000;

/** Short random member ids, like a ReplicaSet's pod suffixes. */
const randomMemberId = (): string => randomBytes(3).toString('hex').slice(0, 5);

/** What one reconcile sees of a pool's members: the list, corrected by what the actors did since. */
interface Observation {
  members: ObservedMember[];
  terminating: number;
  /** Member ids that still exist in some form (observed, starting or terminating). */
  present: Set<string>;
}

export class PoolReconciler {
  private readonly lastPruneDisabled = new Map<string, boolean>();
  /** member key -> epoch ms it became warm (ready, unclaimed). */
  private readonly warmSince = new Map<string, number>();
  /** pool -> recent create/start failures: creates wait out an exponential backoff, so a refused create never loops hot. */
  private readonly createFailures = new Map<string, { count: number; lastAt: number }>();

  constructor(private readonly d: PoolReconcilerDeps) {}

  async reconcile(key: ResourceKey, signal: AbortSignal): Promise<{ requeueAfterMs?: number }> {
    const { store, runtime, supervisor, binder, clock } = this.d;
    const poolId = keyString(key);

    // 1. Load.
    const entry = store.get(key);
    const desired = entry ? desiredPool(entry.resource as InstancePool, this.d.policy) : undefined;
    if (desired) this.lastPruneDisabled.set(poolId, desired.annotations[PRUNE_ANNOTATION] === 'disabled');

    // 2. Observe once; the actors know what happened since the list was taken.
    const listStartedAt = performance.now();
    let listed: ObservedContainer[];
    try {
      listed = await runtime.list({ managedBy: this.d.controllerId, kind: 'InstancePool', namespace: key.namespace, name: key.name }, signal);
    } catch (e) {
      const previous = entry?.object.status as PoolStatus | undefined;
      if (desired && entry && previous) store.setStatus(key, unobservedStatus(previous, errorReason(e), entry.object.metadata.generation, clock.now()));
      else if (desired && entry) this.writeStatus(key, desired, entry.object.metadata.generation, { members: [], terminating: 0, present: new Set() }, undefined, errorReason(e));
      throw e;
    }
    const observed = supervisor.observe(key, listed, desired?.template.healthCheck, desired?.template.stopGracePeriodSeconds ?? 10, listStartedAt);
    const failures = supervisor.takeFailures(key);
    const now = clock.now();
    const seen = this.observation(key, observed, supervisor.views(key), now);

    // 3. Plan.
    const plan = planPool({
      controllerId: this.d.controllerId,
      key,
      desired,
      members: seen.members,
      terminating: seen.terminating,
      pendingClaims: binder.pendingCount(key),
      now,
      pruneDisabled: this.lastPruneDisabled.get(poolId) ?? false,
      newMemberId: randomMemberId,
    });
    if (plan.actions.length) this.d.logger?.debug({ plan: formatPoolPlan(plan) }, 'pool plan');

    // 4. Act: start every action; none is awaited. After failures, creates wait out their backoff.
    const createsAt = this.noteFailures(poolId, failures.length, now);
    for (const a of plan.actions) if (a.type !== 'create' || createsAt <= now) this.start(key, desired, a);
    this.forgetGoneMembers(poolId, seen.present);
    const actError = failures[0];

    if (!desired) {
      if (actError) throw actError;
      if (plan.actions.length || seen.present.size) return {};
      this.lastPruneDisabled.delete(poolId);
      this.d.onPruned?.(key);
      return {};
    }

    // 5. Status, always (the counts as observed, plus what was just started).
    if (entry) this.writeStatus(key, desired, entry.object.metadata.generation, seen, plan, actError ? errorReason(actError) : undefined);
    // Bind waiting claims to members that are ready now (a recycle may have freed one).
    binder.memberChanged(key);
    if (actError) throw actError;
    const heldBack = createsAt > now && plan.actions.some((a) => a.type === 'create') ? createsAt : undefined;
    const next = Math.min(plan.nextDeadline ?? Infinity, heldBack ?? Infinity);
    return Number.isFinite(next) ? { requeueAfterMs: Math.max(0, next - clock.now()) } : {};
  }

  /** Epoch ms from which creates may start again, given the failures just taken. */
  private noteFailures(poolId: string, failed: number, now: number): number {
    let f = this.createFailures.get(poolId);
    if (f && now - f.lastAt > FAILURE_MEMORY_MS) {
      this.createFailures.delete(poolId);
      f = undefined;
    }
    if (failed > 0) {
      f = { count: (f?.count ?? 0) + 1, lastAt: now };
      this.createFailures.set(poolId, f);
    }
    return f ? f.lastAt + Math.min(MAX_CREATE_BACKOFF_MS, INITIAL_CREATE_BACKOFF_MS * 2 ** (f.count - 1)) : -Infinity;
  }

  /** Whether a resync snapshot shows work for this pool: a status to write, a member set changed, or one not running. */
  needsReconcile(key: ResourceKey, observed: ObservedContainer[]): boolean {
    const entry = this.d.store.get(key);
    if (!entry) return observed.length > 0;
    const status = entry.object.status as PoolStatus | undefined;
    if (!status || status.observedGeneration !== entry.object.metadata.generation) return true;
    if (status.replicas !== observed.length) return true;
    return observed.some((c) => c.state !== 'running' || this.d.supervisor.snapshot(c.id) === undefined);
  }

  private observation(key: ResourceKey, observed: ObservedContainer[], actors: ActorView[], now: number): Observation {
    const poolId = keyString(key);
    const byId = new Map(actors.flatMap((a) => (a.containerId !== undefined ? [[a.containerId, a] as const] : [])));
    // A container listed before the create call that made it returned belongs to the actor still creating it.
    const creating = new Map(actors.flatMap((a) => (a.containerId === undefined && a.labels[LABEL.member] !== undefined ? [[a.labels[LABEL.member]!, a] as const] : [])));
    const listedIds = new Set(observed.map((c) => c.id));
    const members: ObservedMember[] = [];
    const present = new Set<string>();
    let terminating = 0;
    for (const c of observed) {
      const id = c.member ?? c.id.slice(0, 12);
      present.add(id);
      const actor = byId.get(c.id) ?? (c.member !== undefined ? creating.get(c.member) : undefined);
      if (actor && actor.containerId === undefined) listedIds.add(`creating-${id}`);
      if (c.state === 'removing' || actor?.terminating) {
        terminating++;
        continue;
      }
      members.push(this.member(poolId, c, id, healthOf(c, actor), now));
    }
    // Created or being created since the list was taken: members already, starting.
    for (const a of actors) {
      if (a.containerId !== undefined && listedIds.has(a.containerId)) continue;
      const id = a.labels[LABEL.member];
      if (id === undefined || listedIds.has(`creating-${id}`)) continue;
      present.add(id);
      if (a.terminating) {
        terminating++;
        continue;
      }
      if (a.failed) continue;
      members.push(this.member(poolId, inFlightContainer(key, a, id), id, a.ready ? 'ready' : 'starting', now));
    }
    return { members, terminating, present };
  }

  private member(poolId: string, c: ObservedContainer, id: string, health: MemberHealth, now: number): ObservedMember {
    const rec = this.d.claims.member(poolId, id);
    const warmKey = `${poolId}#${id}`;
    const warm = health === 'ready' && rec.claim === undefined && !rec.released;
    if (warm && !this.warmSince.has(warmKey)) this.warmSince.set(warmKey, now);
    if (!warm) this.warmSince.delete(warmKey);
    return {
      container: c,
      health,
      ...(rec.claim !== undefined ? { claimedBy: rec.claim } : {}),
      ...(rec.released ? { released: true } : {}),
      uses: rec.uses,
      idleSince: this.warmSince.get(warmKey) ?? now,
    };
  }

  /** Starts one action and returns: the actors carry it out and report back through their transitions. */
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
        this.warmSince.delete(`${poolId}#${action.member}`);
        recorder.record({ type: 'Normal', reason: 'MemberRemoved', message: `removing member ${action.member}: ${action.cause}`, involvedObject: involved });
        return;
      }
      case 'recycle': {
        const rec = claims.member(poolId, action.member);
        claims.setMember(poolId, action.member, { uses: rec.uses, recycledAt: clock.now() });
        this.d.binder.memberHandled(rec.releasedBy);
        // It serves again once a probe passes after this: probe it now rather than at its next period.
        supervisor.reprobe(action.containerId);
        void claims.commit().catch((e: Error) => this.d.logger?.warn?.({ err: e.message }, 'claim state not written'));
        return;
      }
    }
  }

  /**
   * A member's record (uses, released) is kept until its container is gone:
   * a released member that still exists after a crash must never look warm.
   */
  private forgetGoneMembers(poolId: string, present: Set<string>): void {
    const held = new Set<string>();
    for (const r of this.d.claims.claims.values()) if (r.pool === poolId && r.phase === 'Bound' && r.member !== undefined) held.add(r.member);
    let changed = false;
    for (const member of this.d.claims.membersOf(poolId)) {
      if (present.has(member) || held.has(member)) continue;
      const releasedBy = this.d.claims.member(poolId, member).releasedBy;
      this.d.claims.forgetMember(poolId, member);
      this.d.binder.memberHandled(releasedBy);
      this.warmSince.delete(`${poolId}#${member}`);
      changed = true;
    }
    if (changed) void this.d.claims.commit().catch((e: Error) => this.d.logger?.warn?.({ err: e.message }, 'claim state not written'));
  }

  private writeStatus(key: ResourceKey, desired: DesiredPool, generation: number, seen: Observation, plan: ReturnType<typeof planPool> | undefined, actError: { reason: string; message: string } | undefined): void {
    const previous = this.d.store.get(key)?.object.status as PoolStatus | undefined;
    const status = poolStatus({
      desired,
      generation,
      members: seen.members,
      terminating: seen.terminating + (plan?.actions.filter((a) => a.type === 'remove').length ?? 0),
      controllerId: this.d.controllerId,
      plan: plan ?? { key, actions: [], rollout: { updated: 0, total: 0, done: true } },
      pendingClaims: this.d.binder.pendingCount(key),
      claimWait: this.d.binder.waitFigures(key),
      ...(actError ? { actError } : {}),
      ...(previous ? { previous } : {}),
      now: this.d.clock.now(),
    });
    this.d.store.setStatus(key, status);
  }
}

/** A member the list did not show yet, as its create request labelled it. */
function inFlightContainer(key: ResourceKey, a: ActorView, member: string): ObservedContainer {
  const labels = a.labels;
  return {
    id: a.containerId ?? `creating-${member}`,
    name: containerNameFor(key, member),
    labels,
    managedBy: labels[LABEL.managedBy] ?? '',
    kind: 'InstancePool',
    namespace: key.namespace,
    owner: key.name,
    member,
    ...(labels[LABEL.configHash] !== undefined ? { configHash: labels[LABEL.configHash] } : {}),
    ...(labels[LABEL.hashVersion] !== undefined ? { hashVersion: labels[LABEL.hashVersion] } : {}),
    createdAt: a.createdAt,
    state: a.containerId === undefined ? 'created' : 'running',
    hostPorts: [],
    ports: a.ports,
  };
}

function healthOf(c: ObservedContainer, actor: ActorView | undefined): MemberHealth {
  if (c.state === 'exited' || c.state === 'dead') return 'exited';
  if (!actor) return c.state === 'running' ? 'starting' : 'exited';
  const phase = actor.phase;
  // Created but never started (a controller killed between create and start): nothing will start it, so it is replaced.
  if (c.state === 'created' && !['Starting', 'Creating', 'Pending'].includes(phase)) return 'exited';
  if (phase === 'Ready') return 'ready';
  if (phase === 'Unhealthy') return 'unhealthy';
  if (phase === 'Stopped' || phase === 'Failed') return 'exited';
  return 'starting';
}
