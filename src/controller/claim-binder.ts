// Carries out the claim rules (src/reconcile/claim) for one pool at a time:
// builds their input from the durable claim records and the members' live
// lifecycle actors, applies the decisions to the records synchronously (no
// await between choosing a member and marking it taken), makes them durable
// in one group commit, then reports them (status, events, metrics).
//
// It runs whenever something a claim waits on changes: a claim arrives or is
// deleted, a member passes its probe (first start or after a Reuse recycle),
// a deadline falls due. No list call and no pool reconcile stand between a
// ready member and the oldest waiting claim.
import { keyString, parseKeyString, type InstanceClaim, type InstancePool, type ResourceKey } from '../spec/schema.js';
import type { ClaimStatus } from '../spec/status.js';
import { planClaims } from '../reconcile/claim/plan-claims.js';
import { claimStatus } from '../reconcile/claim/status.js';
import type { ClaimDecision, ClaimPlan, ClaimPlanInput, ClaimView, MemberView } from '../reconcile/claim/types.js';
import { LABEL, type ObservedPort } from '../runtime/types.js';
import type { ActorView } from '../lifecycle/supervisor.js';
import type { ResourceStore } from './resource-store.js';
import type { EventRecorder } from './event-recorder.js';
import type { ClaimRecord, ClaimState } from '../state/claim-state.js';
import type { Clock } from '../time/clock.js';
import { claimRequestedAt } from '../reconcile/claim/requested-at.js';

export interface ClaimMetrics {
  bound(pool: string, waitSeconds: number, warm: boolean): void;
  outcome(pool: string, outcome: 'bound' | 'timeout' | 'expired' | 'released'): void;
}

export interface ClaimBinderDeps {
  store: ResourceStore;
  state: ClaimState;
  recorder: EventRecorder;
  clock: Clock;
  /** The pool's members as their lifecycle actors know them now. */
  members: (pool: ResourceKey) => ActorView[];
  /** The pool should reconcile now: replace a member a claim took, recycle a released one. */
  wakePool: (pool: ResourceKey) => void;
  /** Reconcile the claim again after ms (its wait timeout or lease expiry). */
  wakeClaim: (claim: ResourceKey, afterMs: number) => void;
  metrics?: ClaimMetrics;
  /** A deleted claim no longer holds anything: a finalizer may be removed. */
  onReleased?: (claim: ResourceKey) => void;
}

const DEFAULT_CLAIM_TIMEOUT_SECONDS = 30;
/** A claim bound within this long of its creation took a warm member (it did not wait for one to start). */
const WARM_BIND_MS = 1000;

export class ClaimBinder {
  private readonly waits = new Map<string, number[]>();

  constructor(private readonly d: ClaimBinderDeps) {}

  /** Claims waiting on this pool: the pool grows for them (up to maxSize). */
  pendingCount(pool: ResourceKey): number {
    const p = keyString(pool);
    let n = 0;
    for (const r of this.d.state.claims.values()) if (r.pool === p && r.phase === 'Pending') n++;
    return n;
  }

  /** Recent claim wait times of a pool (ms), for its status figures. */
  waitFigures(pool: ResourceKey): { count: number; p50Ms?: number; p99Ms?: number } {
    const w = [...(this.waits.get(keyString(pool)) ?? [])].sort((a, b) => a - b);
    if (!w.length) return { count: 0 };
    const at = (q: number): number => w[Math.min(w.length - 1, Math.floor(q * w.length))]!;
    return { count: w.length, p50Ms: at(0.5), p99Ms: at(0.99) };
  }

  /**
   * A claim appeared in the store: it gets its record (its FIFO position) and
   * binds at once if a member is free, in the same tick, so that the write
   * that makes the claim durable also carries its binding.
   */
  claimArrived(claimKey: ResourceKey): void {
    const rec = this.recordFor(claimKey);
    if (rec?.phase === 'Pending') void this.settle(parseKeyString(rec.pool)).catch(() => undefined);
  }

  /** The claim took a warm member the moment it arrived (its binding is being made durable). */
  boundAtOnce(claimKey: ResourceKey): boolean {
    const rec = this.d.state.claims.get(keyString(claimKey));
    return rec?.phase === 'Bound' && rec.warm === true;
  }

  /** A member's lifecycle changed (it may have become ready): bind waiting claims to it now. */
  memberChanged(pool: ResourceKey): void {
    if (this.pendingCount(pool) > 0) void this.settle(pool).catch(() => undefined);
  }

  /**
   * Runs the claim rules for one pool: decisions are applied to the records
   * at once, made durable together, then reported.
   */
  async settle(pool: ResourceKey): Promise<ClaimPlan> {
    const plan = planClaims(this.planInput(pool));
    await this.carryOut(pool, plan);
    return plan;
  }

  /** What the claim rules read of one pool: its claims (records and resources) and its members (live). */
  planInput(pool: ResourceKey): ClaimPlanInput {
    const { state } = this.d;
    const poolId = keyString(pool);
    const claims: ClaimView[] = [];
    for (const [id, r] of state.claims) {
      if (r.pool !== poolId) continue;
      const entry = this.d.store.get(parseKeyString(id));
      const spec = (entry?.resource as InstanceClaim | undefined)?.spec;
      claims.push({
        id,
        pool: r.pool,
        phase: r.phase,
        createdAt: r.createdAt,
        ...(r.member !== undefined ? { member: r.member } : {}),
        ...(spec?.ttlSeconds !== undefined ? { ttlSeconds: spec.ttlSeconds } : {}),
        ...(r.expiresAt !== undefined ? { expiresAt: r.expiresAt } : {}),
        ...(entry ? {} : { deleted: true }),
      });
    }
    return { pool: poolId, poolExists: this.d.store.get(pool) !== undefined, claimTimeoutSeconds: this.timeoutSeconds(poolId), claims, members: this.memberViews(pool).map((m) => m.view), now: this.d.clock.now() };
  }

  /** Applies a plan's decisions to the records at once (no await in between), makes them durable together, then reports them. */
  async carryOut(pool: ResourceKey, plan: ClaimPlan): Promise<void> {
    if (!plan.decisions.length) return;
    const now = this.d.clock.now();
    const byMember = new Map(this.memberViews(pool).map((m) => [m.view.member, m]));
    for (const d of plan.decisions) this.apply(d, byMember, now);
    await this.d.state.commit();
    for (const d of plan.decisions) this.report(d, pool);
  }

  /** The claim's wait timeout (its pool's claimTimeoutSeconds). */
  timeoutSeconds(poolId: string): number {
    const pool = this.d.store.get(parseKeyString(poolId))?.resource as InstancePool | undefined;
    return pool?.spec.claimTimeoutSeconds ?? DEFAULT_CLAIM_TIMEOUT_SECONDS;
  }

  /** Container of a pool member addressed as an instance (`<pool>-<member>`), for exec and logs. */
  resolveInstance(namespace: string, instance: string): string | undefined {
    for (const entry of this.d.store.list('InstancePool', namespace)) {
      const pool = entry.object.metadata.name;
      if (!instance.startsWith(`${pool}-`)) continue;
      const member = instance.slice(pool.length + 1);
      const v = this.d.members({ kind: 'InstancePool', namespace, name: pool }).find((a) => a.labels[LABEL.member] === member && a.containerId !== undefined && !a.terminating);
      if (v) return v.containerId;
    }
    return undefined;
  }

  // -------------------------------------------------------------------------

  /** The claim's record, created from the store on first sight; undefined when the claim is neither stored nor recorded. */
  recordFor(claimKey: ResourceKey): ClaimRecord | undefined {
    const id = keyString(claimKey);
    const existing = this.d.state.claims.get(id);
    if (existing) return existing;
    const entry = this.d.store.get(claimKey);
    if (!entry) return undefined;
    const claim = entry.resource as InstanceClaim;
    const rec: ClaimRecord = {
      pool: keyString({ kind: 'InstancePool', namespace: claimKey.namespace, name: claim.spec.poolRef.name }),
      phase: 'Pending',
      createdAt: claimRequestedAt(entry.object.metadata, this.d.clock.now()),
    };
    this.d.state.claims.set(id, rec);
    return rec;
  }

  private memberViews(pool: ResourceKey): Array<{ view: MemberView; ports: ObservedPort[] }> {
    const poolId = keyString(pool);
    const desiredHash = (this.d.store.get(pool)?.object.status as { configHash?: string } | undefined)?.configHash;
    const out: Array<{ view: MemberView; ports: ObservedPort[] }> = [];
    for (const a of this.d.members(pool)) {
      const member = a.labels[LABEL.member];
      if (member === undefined || a.containerId === undefined) continue;
      const rec = this.d.state.member(poolId, member);
      out.push({
        view: {
          member,
          containerId: a.containerId,
          ready: a.ready,
          terminating: a.terminating,
          current: desiredHash === undefined || a.labels[LABEL.configHash] === desiredHash,
          createdAt: a.createdAt,
          ...(rec.claim !== undefined ? { claimedBy: rec.claim } : {}),
          ...(rec.released ? { released: true } : {}),
          ...(rec.recycledAt !== undefined ? { recycledAt: rec.recycledAt } : {}),
          ...(a.lastReadyAt !== undefined ? { lastReadyAt: a.lastReadyAt } : {}),
        },
        ports: a.ports,
      });
    }
    return out;
  }

  private apply(d: ClaimDecision, members: Map<string, { view: MemberView; ports: ObservedPort[] }>, now: number): void {
    const { state } = this.d;
    const rec = state.claims.get(d.claim);
    if (!rec) return;
    const poolName = parseKeyString(rec.pool).name;
    switch (d.type) {
      case 'bind': {
        const m = state.member(rec.pool, d.member);
        state.setMember(rec.pool, d.member, { uses: m.uses, claim: d.claim });
        Object.assign(rec, {
          phase: 'Bound',
          member: d.member,
          instance: `${poolName}-${d.member}`,
          containerId: d.containerId,
          ports: members.get(d.member)?.ports ?? [],
          boundAt: now,
          waitMs: d.waitMs,
          warm: d.waitMs < WARM_BIND_MS,
          reason: 'Bound',
          message: `bound to ${poolName}-${d.member}`,
        } satisfies Partial<ClaimRecord>);
        if (d.expiresAt !== undefined) rec.expiresAt = d.expiresAt;
        return;
      }
      case 'timeout':
        Object.assign(rec, {
          phase: 'Failed',
          reason: d.reason,
          message:
            d.reason === 'ClaimTimeout'
              ? `no warm member of pool ${poolName} became free within ${Math.round(d.waitedMs / 1000)}s`
              : `pool ${poolName} does not exist in namespace ${parseKeyString(rec.pool).namespace}`,
        } satisfies Partial<ClaimRecord>);
        return;
      case 'expire':
        this.releaseMember(rec, d.claim);
        Object.assign(rec, { phase: 'Expired', reason: 'LeaseExpired', message: 'the lease expired; the member was released' } satisfies Partial<ClaimRecord>);
        return;
      case 'release':
        this.releaseMember(rec, d.claim, true);
        state.claims.delete(d.claim);
        return;
    }
  }

  private releaseMember(rec: ClaimRecord, claimId: string, deleted = false): void {
    if (rec.member === undefined) return;
    const m = this.d.state.member(rec.pool, rec.member);
    if (m.claim === claimId) this.d.state.setMember(rec.pool, rec.member, { uses: m.uses + 1, released: true, ...(deleted ? { releasedBy: claimId } : {}) });
  }

  /**
   * The pool recycled or removed a released member: the deleted claim that
   * released it holds nothing any more (its finalizer may go). Until then a
   * new leader still finds the claim, so the member is never handed out dirty.
   */
  memberHandled(claimId: string | undefined): void {
    if (claimId !== undefined) this.d.onReleased?.(parseKeyString(claimId));
  }

  private report(d: ClaimDecision, pool: ResourceKey): void {
    const key = parseKeyString(d.claim);
    const poolId = keyString(pool);
    const involved = { kind: 'InstanceClaim' as const, namespace: key.namespace, name: key.name };
    const rec = this.d.state.claims.get(d.claim);
    switch (d.type) {
      case 'bind':
        if (!rec) return;
        this.writeStatus(key, rec);
        this.recordWait(poolId, d.waitMs);
        this.d.metrics?.bound(poolId, d.waitMs / 1000, rec.warm ?? false);
        this.d.metrics?.outcome(poolId, 'bound');
        this.d.recorder.record({ type: 'Normal', reason: 'Bound', message: `bound to ${rec.instance} after ${d.waitMs} ms`, involvedObject: involved });
        if (rec.expiresAt !== undefined) this.d.wakeClaim(key, rec.expiresAt - this.d.clock.now());
        // One warm member fewer: the pool replaces it now.
        this.d.wakePool(pool);
        return;
      case 'timeout':
        if (!rec) return;
        this.writeStatus(key, rec);
        this.d.metrics?.outcome(poolId, 'timeout');
        this.d.recorder.record({ type: 'Warning', reason: rec.reason ?? d.reason, message: rec.message ?? '', involvedObject: involved });
        return;
      case 'expire':
        if (rec) this.writeStatus(key, rec);
        this.d.metrics?.outcome(poolId, 'expired');
        this.d.recorder.record({ type: 'Normal', reason: 'Expired', message: rec?.message ?? 'the lease expired', involvedObject: involved });
        this.d.wakePool(pool);
        return;
      case 'release':
        if (d.member !== undefined) this.d.metrics?.outcome(poolId, 'released');
        // Held nothing: done now. Held a member: done once the pool has recycled or removed it (memberHandled).
        else this.d.onReleased?.(key);
        this.d.wakePool(pool);
        return;
    }
  }

  private recordWait(pool: string, ms: number): void {
    const w = this.waits.get(pool) ?? [];
    w.push(ms);
    if (w.length > 1000) w.shift();
    this.waits.set(pool, w);
  }

  /** The claim's status from its record (also written by the fast path, between reconciles). */
  statusOf(key: ResourceKey, rec: ClaimRecord, position: number | undefined, generation: number, previous: ClaimStatus | undefined): ClaimStatus {
    return claimStatus({
      binding: rec,
      poolName: parseKeyString(rec.pool).name,
      poolExists: this.d.store.get(parseKeyString(rec.pool)) !== undefined,
      ...(position !== undefined ? { position } : {}),
      generation,
      ...(previous ? { previous } : {}),
      now: this.d.clock.now(),
    });
  }

  private writeStatus(key: ResourceKey, rec: ClaimRecord): void {
    const entry = this.d.store.get(key);
    if (!entry) return;
    this.d.store.setStatus(key, this.statusOf(key, rec, undefined, entry.object.metadata.generation, entry.object.status as ClaimStatus | undefined));
  }
}
