// One InstancePool reconcile: load, observe members once, plan (pure), act
// (creates and removes in parallel, through the lifecycle supervisor), hand
// the claim binder the members' readiness, write status always.
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
import type { ObservedContainer, Runtime } from '../runtime/types.js';
import type { Supervisor } from '../lifecycle/supervisor.js';
import type { ResourceStore } from './resource-store.js';
import type { EventRecorder } from './event-recorder.js';
import type { ClaimBinder, MemberView } from './claim-binder.js';
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
  logger?: { debug(o: object, msg?: string): void };
  onPruned?: (key: ResourceKey) => void;
}

/** Short random member ids, like a ReplicaSet's pod suffixes. */
const randomMemberId = (): string => randomBytes(3).toString('hex').slice(0, 5);

export class PoolReconciler {
  private readonly lastPruneDisabled = new Map<string, boolean>();
  /** member key -> epoch ms it became warm (ready, unclaimed). */
  private readonly warmSince = new Map<string, number>();

  constructor(private readonly d: PoolReconcilerDeps) {}

  async reconcile(key: ResourceKey, signal: AbortSignal): Promise<{ requeueAfterMs?: number }> {
    const { store, runtime, supervisor, binder, claims, clock } = this.d;
    const poolId = keyString(key);

    // 1. Load.
    const entry = store.get(key);
    const desired = entry ? desiredPool(entry.resource as InstancePool, this.d.policy) : undefined;
    if (desired) this.lastPruneDisabled.set(poolId, desired.annotations[PRUNE_ANNOTATION] === 'disabled');

    // 2. Observe once.
    let observed: ObservedContainer[];
    try {
      observed = await runtime.list({ managedBy: this.d.controllerId, kind: 'InstancePool', namespace: key.namespace, name: key.name }, signal);
    } catch (e) {
      const previous = entry?.object.status as PoolStatus | undefined;
      if (desired && entry && previous) store.setStatus(key, unobservedStatus(previous, errorReason(e), entry.object.metadata.generation, clock.now()));
      else if (desired && entry) this.writeStatus(key, desired, entry.object.metadata.generation, [], undefined, errorReason(e));
      throw e;
    }
    supervisor.observe(key, observed, desired?.template.healthCheck, desired?.template.stopGracePeriodSeconds ?? 10);
    const now = clock.now();
    const members = observed.map((c) => this.member(poolId, c, now));

    // 3. Plan.
    const plan = planPool({
      controllerId: this.d.controllerId,
      key,
      desired,
      members,
      pendingClaims: binder.pendingCount(key),
      now,
      pruneDisabled: this.lastPruneDisabled.get(poolId) ?? false,
      newMemberId: randomMemberId,
    });
    if (plan.actions.length) this.d.logger?.debug({ plan: formatPoolPlan(plan) }, 'pool plan');

    // 4. Act: independent members in parallel; the first error is reported after all settle.
    const results = await Promise.allSettled(plan.actions.map((a) => this.act(key, desired, a, signal)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    const actError: unknown = failed?.reason;

    if (!desired) {
      binder.forgetPool(key);
      if (actError) throw actError;
      if (plan.actions.length) return { requeueAfterMs: 0 };
      this.lastPruneDisabled.delete(poolId);
      this.d.onPruned?.(key);
      return {};
    }

    // Hand the binder what is warm now (created members join once their probe passes).
    await binder.setMembers(key, this.views(key, desired, observed, plan.actions));

    // 5. Status, always.
    if (entry) this.writeStatus(key, desired, entry.object.metadata.generation, members, plan, actError ? errorReason(actError) : undefined);
    if (actError) throw actError;
    return plan.nextDeadline !== undefined ? { requeueAfterMs: Math.max(0, plan.nextDeadline - clock.now()) } : {};
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

  private member(poolId: string, c: ObservedContainer, now: number): ObservedMember {
    const id = c.member ?? c.id.slice(0, 12);
    const rec = this.d.claims.member(poolId, id);
    const health = healthOf(this.d.supervisor, c);
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

  private async act(key: ResourceKey, desired: DesiredPool | undefined, action: PoolAction, signal: AbortSignal): Promise<void> {
    const { supervisor, recorder, claims, clock } = this.d;
    const poolId = keyString(key);
    const involved = { kind: 'InstancePool' as const, namespace: key.namespace, name: key.name };
    switch (action.type) {
      case 'create': {
        const labels = ownerLabels(this.d.controllerId, key, desired!.hash, clock.now(), action.member);
        await supervisor.create(key, { name: containerNameFor(key, action.member), template: desired!.template, labels }, desired!.template.healthCheck, signal);
        return;
      }
      case 'remove': {
        this.d.binder.dropMember(key, action.containerId);
        await supervisor.remove(key, action.containerId, signal);
        claims.forgetMember(poolId, action.member);
        this.warmSince.delete(`${poolId}#${action.member}`);
        recorder.record({ type: 'Normal', reason: 'MemberRemoved', message: `removed member ${action.member}: ${action.cause}`, involvedObject: involved });
        await claims.commit();
        return;
      }
      case 'recycle': {
        const rec = claims.member(poolId, action.member);
        claims.setMember(poolId, action.member, { uses: rec.uses, recycledAt: clock.now() });
        await claims.commit();
        return;
      }
    }
  }

  private views(key: ResourceKey, desired: DesiredPool, observed: ObservedContainer[], actions: PoolAction[]): MemberView[] {
    const removed = new Set(actions.flatMap((a) => (a.type === 'remove' ? [a.containerId] : [])));
    return observed
      .filter((c) => !removed.has(c.id))
      .map((c) => {
        const snap = this.d.supervisor.snapshot(c.id);
        const member = c.member ?? c.id.slice(0, 12);
        const last = snap?.context.probe.last;
        return {
          member,
          instance: `${key.name}-${member}`,
          containerId: c.id,
          ready: snap?.matches({ running: 'ready' }) ?? false,
          current: c.configHash === desired.hash.hash,
          createdAt: c.createdAt,
          ports: c.ports,
          ...(last?.ok ? { lastReadyAt: last.time } : snap?.matches({ running: 'ready' }) ? { lastReadyAt: this.d.clock.now() } : {}),
        };
      });
  }

  private writeStatus(key: ResourceKey, desired: DesiredPool, generation: number, members: ObservedMember[], plan: ReturnType<typeof planPool> | undefined, actError: { reason: string; message: string } | undefined): void {
    const previous = this.d.store.get(key)?.object.status as PoolStatus | undefined;
    const status = poolStatus({
      desired,
      generation,
      members,
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

function healthOf(supervisor: Supervisor, c: ObservedContainer): MemberHealth {
  if (c.state === 'exited' || c.state === 'dead') return 'exited';
  const snap = supervisor.snapshot(c.id);
  if (!snap) return c.state === 'running' ? 'starting' : 'exited';
  // Created but never started (a controller killed between create and start): nothing will start it, so it is replaced.
  if (c.state === 'created' && !snap.matches('starting') && !snap.matches('creating') && !snap.matches('pending')) return 'exited';
  if (snap.matches({ running: 'ready' })) return 'ready';
  if (snap.matches({ running: 'unhealthy' })) return 'unhealthy';
  if (snap.matches('stopped') || snap.matches('failed')) return 'exited';
  return 'starting';
}

