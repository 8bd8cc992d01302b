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
//
// Kubernetes mode (recordBindsIn): the claim's status in the apiserver is the
// record, so a bind is that status write, conditional on the claim's version
// as berth last saw it. Until the apiserver takes it the member is reserved
// (never free) and the claim is Pending to everyone; on 409 the claim as the
// apiserver holds it decides (serverVerdict): another berth writer's binding
// or outcome is adopted, else the bind did not happen and the rules run again
// (a status another manager set is no binding: the record is written over it).
// A Pod member is labelled with its claim (claim-label.ts) once bound, and
// the label goes on release.
import { keyString, parseKeyString, type InstanceClaim, type InstancePool, type ResourceKey } from '../spec/schema.js';
import type { ClaimStatus } from '../spec/status.js';
import { planClaims } from '../reconcile/claim/plan-claims.js';
import { isFree } from '../reconcile/claim/fifo.js';
import { claimStatus } from '../reconcile/claim/status.js';
import type { ClaimDecision, ClaimPlan, ClaimPlanInput, ClaimView, MemberView } from '../reconcile/claim/types.js';
import { serverVerdict, type ClaimWriteOutcome, type ServerClaimStatus, type ServerVerdict } from '../reconcile/claim/server-binding.js';
import { claimLabelIsStale, claimLabelValue } from '../reconcile/claim/claim-label.js';
import { LABEL, type ObservedPort } from '../runtime/types.js';
import type { ActorView } from '../lifecycle/supervisor.js';
import type { ResourceStore } from './resource-store.js';
import type { EventRecorder } from './event-recorder.js';
import type { ClaimRecord, ClaimState } from '../state/claim-state.js';
import type { Clock } from '../time/clock.js';
import { claimRequestedAt } from '../reconcile/claim/requested-at.js';
import { afterAnswer } from './after-answer.js';

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
  /** Sets (a claim label value) or removes (undefined) a member's claim label; only runtimes that can relabel (Pods). */
  labelMember?: (containerId: string, value: string | undefined) => void;
  logger?: { warn?(o: object, msg?: string): void };
}

/** Where binds are recorded when the claims' source is the record (Kubernetes: the claim's status in the apiserver). */
export interface ClaimStatusRecord {
  /** This claim's record is the source's (a claim from elsewhere, e.g. a file, keeps the state-dir path). */
  records(claim: ResourceKey): boolean;
  /** The claim's status written conditionally on the version berth last saw of it. */
  write(claim: ResourceKey, status: ClaimStatus): Promise<ClaimWriteOutcome>;
}

/** A pool's members as the claim rules see them, with the ports a bind copies to the claim. */
type MemberViews = Array<{ view: MemberView; ports: ObservedPort[] }>;

const DEFAULT_CLAIM_TIMEOUT_SECONDS = 30;

export interface ResolvedMember {
  containerId: string;
  pool: string;
  /** Name of the claim holding it; none: warm (or being recycled). */
  claim?: string;
}
/** A bind whose status write got no answer is tried again after this long (through the claim's reconcile). */
const BIND_RETRY_MS = 1000;
/** A claim bound within this long of its creation took a warm member (it did not wait for one to start). */
const WARM_BIND_MS = 1000;

export class ClaimBinder {
  private readonly waits = new Map<string, number[]>();
  private statusRecord: ClaimStatusRecord | undefined;
  /** Each record's view for the claim rules, with the resource it was made from (claimView). */
  private readonly views = new WeakMap<Readonly<ClaimRecord>, { claim: InstanceClaim | undefined; view: ClaimView }>();
  /** Each pool's claimTimeoutSeconds as last seen (poolApplied). */
  private readonly seenTimeouts = new Map<string, number>();
  /** Claims whose bind is being written to the source: neither waiting nor bound until it answers. */
  private readonly inflight = new Set<string>();

  constructor(private readonly d: ClaimBinderDeps) {}

  /** Binds are recorded by this (the claims' source) before they count; undefined: the state dir is the record. */
  recordBindsIn(record: ClaimStatusRecord | undefined): void {
    this.statusRecord = record;
  }

  /** Claims waiting on this pool: the pool grows for them (up to maxSize). */
  pendingCount(pool: ResourceKey): number {
    const p = keyString(pool);
    let n = this.d.state.pendingOf(p);
    // A bind being written is not waiting any more (few at a time: the queue is counted, not walked).
    for (const id of this.inflight) {
      const r = this.d.state.claims.get(id);
      if (r?.pool === p && r.phase === 'Pending') n--;
    }
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
    if (rec?.phase !== 'Pending') return;
    const pool = parseKeyString(rec.pool);
    // With no member free it can only wait: the rules over the whole queue (thousands of claims, when a
    // pool is flooded) need not run for it now; its own reconcile gives its position and deadline.
    const views = this.memberViews(pool);
    if (views.some((m) => isFree(m.view))) void this.settle(pool, views).catch(() => undefined);
  }

  /** The member is bound to a claim. */
  holds(pool: ResourceKey, member: string | undefined): boolean {
    return member !== undefined && this.d.state.member(keyString(pool), member).claim !== undefined;
  }

  /** The claim took a warm member the moment it arrived (its binding is being made durable). */
  boundAtOnce(claimKey: ResourceKey): boolean {
    const rec = this.d.state.claims.get(keyString(claimKey));
    return rec?.phase === 'Bound' && rec.warm === true;
  }

  /**
   * The pool's list did not find these members, and claims hold them (removed
   * behind berth's back): those claims fail with MemberLost now, instead of
   * showing Bound to a container that no longer exists.
   */
  membersGone(pool: ResourceKey, members: readonly string[]): void {
    if (members.length) void this.settle(pool, this.memberViews(pool), members).catch(() => undefined);
  }

  /** A member's lifecycle changed (it may have become ready): bind waiting claims to it now. */
  memberChanged(pool: ResourceKey): void {
    if (this.pendingCount(pool) === 0) return;
    // No member free: nothing to bind, and the rules' other decisions (timeouts, expiries, releases) come
    // at each claim's own reconcile. Running them here read a flooded pool's whole queue at every wake.
    const views = this.memberViews(pool);
    if (!views.some((m) => isFree(m.view))) return;
    void this.settle(pool, views).catch(() => undefined);
  }

  /**
   * Runs the claim rules for one pool: decisions are applied to the records
   * at once, made durable together, then reported.
   */
  async settle(pool: ResourceKey, views: MemberViews = this.memberViews(pool), gone?: readonly string[]): Promise<ClaimPlan> {
    // One look at the members serves the rules and the bind (nothing awaits in between).
    const input = this.planInput(pool, views);
    const plan = planClaims(gone?.length ? { ...input, gone } : input);
    await this.carryOut(pool, plan, views);
    return plan;
  }

  /** What the claim rules read of one pool: its claims (records and resources) and its members (live). */
  planInput(pool: ResourceKey, views: MemberViews = this.memberViews(pool)): ClaimPlanInput {
    const { state } = this.d;
    const poolId = keyString(pool);
    const claims: ClaimView[] = [];
    for (const id of state.claimIdsOf(poolId)) {
      const r = state.claims.get(id);
      // A bind being written is decided already: the rules neither bind nor time it out meanwhile.
      if (!r || this.inflight.has(id)) continue;
      claims.push(this.claimView(id, r, this.d.store.getById(id)?.resource as InstanceClaim | undefined));
    }
    return { pool: poolId, poolExists: this.d.store.get(pool) !== undefined, claimTimeoutSeconds: this.timeoutSeconds(poolId), claims, members: views.map((m) => m.view), now: this.d.clock.now() };
  }

  /**
   * What the rules read of one claim: made once per record and resource
   * (both are replaced, never changed), since every reconcile of a claim on a
   * flooded pool reads the pool's whole queue (3.75 of 8.7 s of CPU went to
   * making these views while 2000 claims queued and timed out).
   */
  private claimView(id: string, r: Readonly<ClaimRecord>, claim: InstanceClaim | undefined): ClaimView {
    const cached = this.views.get(r);
    if (cached && cached.claim === claim) return cached.view;
    const view: ClaimView = { id, pool: r.pool, phase: r.phase, createdAt: r.createdAt };
    if (r.member !== undefined) view.member = r.member;
    if (claim?.spec.ttlSeconds !== undefined) view.ttlSeconds = claim.spec.ttlSeconds;
    if (r.expiresAt !== undefined) view.expiresAt = r.expiresAt;
    if (!claim) view.deleted = true;
    this.views.set(r, { claim, view: Object.freeze(view) });
    return view;
  }

  /** Applies a plan's decisions to the records at once (no await in between), makes them durable together, then reports them. */
  async carryOut(pool: ResourceKey, plan: ClaimPlan, views?: MemberViews): Promise<void> {
    if (!plan.decisions.length) return;
    const now = this.d.clock.now();
    const byMember = new Map((views ?? this.memberViews(pool)).map((m) => [m.view.member, m]));
    const applied: ClaimDecision[] = [];
    const writes: Array<Promise<void>> = [];
    for (const d of plan.decisions) {
      if (d.type === 'bind' && this.statusRecord?.records(parseKeyString(d.claim))) {
        const write = this.bindInSource(pool, d, byMember.get(d.member)?.ports ?? [], now);
        if (write) writes.push(write);
        continue;
      }
      this.apply(d, byMember, now);
      applied.push(d);
    }
    await this.d.state.commit();
    for (const d of applied) this.report(d, pool);
    await Promise.all(writes);
  }

  /**
   * The apiserver's copy of a claim, read after a status write met 409: what
   * another berth writer left there is taken over (serverVerdict); what
   * another manager set (editedBy) is not, and the write that met it goes on
   * with berth's record.
   */
  serverSaid(claimKey: ResourceKey, status: ServerClaimStatus | undefined, editedBy?: string): void {
    const id = keyString(claimKey);
    const rec = this.d.state.claims.get(id);
    // A bind in flight learns the same from its own write's answer.
    if (!rec || this.inflight.has(id)) return;
    const verdict = serverVerdict({ phase: rec.phase, ...(rec.member !== undefined ? { member: rec.member } : {}) }, status, parseKeyString(rec.pool).name, editedBy);
    if (verdict.type !== 'keep') this.takeVerdict(claimKey, rec, verdict);
  }

  /**
   * A pool's spec was applied (or deleted). When its claimTimeoutSeconds was
   * cut, each waiting claim is woken at its new deadline: its timer was set
   * for the old one. (A raised timeout needs nothing: the old timer comes
   * early, and that reconcile sets the new one.) Not woken at once: each
   * claim's rules read the pool's whole queue, and thousands of claims
   * reconciled together cost seconds of CPU for nothing.
   */
  poolApplied(pool: ResourceKey): void {
    const id = keyString(pool);
    if (!this.d.store.get(pool)) {
      // Deleted: its waiting claims keep the timeout they were given (timeoutSeconds) and fail with
      // PoolNotFound at their deadline, woken for it now (the pool's own wakes have stopped). A pool
      // deleted with no claim left is forgotten: later claims on the name wait as on any missing pool.
      if (this.d.state.pendingOf(id) > 0) this.wakeWaiting(id, this.timeoutSeconds(id));
      else if (this.d.state.claimIdsOf(id).size === 0) this.seenTimeouts.delete(id);
      return;
    }
    const timeout = this.timeoutSeconds(id);
    const before = this.seenTimeouts.get(id);
    this.seenTimeouts.set(id, timeout);
    if (before === undefined || timeout >= before) return;
    this.wakeWaiting(id, timeout);
  }

  /** Wakes each waiting claim of the pool at its deadline under this timeout. */
  private wakeWaiting(id: string, timeout: number): void {
    const { claims } = this.d.state;
    const now = this.d.clock.now();
    for (const c of this.d.state.claimIdsOf(id)) {
      const rec = claims.get(c);
      if (rec?.phase === 'Pending') this.d.wakeClaim(parseKeyString(c), Math.max(0, rec.createdAt + timeout * 1000 - now));
    }
  }

  /** The claim's resource is in the store (not deleted). */
  isStored(claimId: string): boolean {
    return this.d.store.getById(claimId) !== undefined;
  }

  /** The claim's wait timeout: its pool's claimTimeoutSeconds, as last seen if the pool was deleted since. */
  timeoutSeconds(poolId: string): number {
    const pool = this.d.store.get(parseKeyString(poolId))?.resource as InstancePool | undefined;
    return pool?.spec.claimTimeoutSeconds ?? this.seenTimeouts.get(poolId) ?? DEFAULT_CLAIM_TIMEOUT_SECONDS;
  }

  /** Container of a pool member addressed as an instance (`<pool>-<member>`), for exec, copies and logs, with the claim holding it. */
  resolveInstance(namespace: string, instance: string): ResolvedMember | undefined {
    for (const entry of this.d.store.list('InstancePool', namespace)) {
      const pool = entry.object.metadata.name;
      if (!instance.startsWith(`${pool}-`)) continue;
      const member = instance.slice(pool.length + 1);
      const poolKey: ResourceKey = { kind: 'InstancePool', namespace, name: pool };
      const v = this.d.members(poolKey).find((a) => a.labels[LABEL.member] === member && a.containerId !== undefined && !a.terminating);
      if (!v?.containerId) continue;
      const claim = this.d.state.member(keyString(poolKey), member).claim;
      return { containerId: v.containerId, pool, ...(claim !== undefined ? { claim: parseKeyString(claim).name } : {}) };
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
    return this.d.state.setClaim(id, {
      pool: keyString({ kind: 'InstancePool', namespace: claimKey.namespace, name: claim.spec.poolRef.name }),
      phase: 'Pending',
      createdAt: claimRequestedAt(entry.object.metadata, this.d.clock.now()),
    });
  }

  /**
   * Reserves the member and writes the bind to the source; undefined when the
   * decision is stale (the claim or the member was taken since it was made).
   */
  private bindInSource(pool: ResourceKey, d: Extract<ClaimDecision, { type: 'bind' }>, ports: ObservedPort[], now: number): Promise<void> | undefined {
    const { state } = this.d;
    const rec = state.claims.get(d.claim);
    if (!rec || rec.phase !== 'Pending' || this.inflight.has(d.claim)) return undefined;
    const before = state.member(rec.pool, d.member);
    if (before.claim !== undefined || before.released) return undefined;
    state.setMember(rec.pool, d.member, { ...before, claim: d.claim });
    this.inflight.add(d.claim);
    return this.writeBind(pool, rec, d, ports, now).finally(() => this.inflight.delete(d.claim));
  }

  private async writeBind(pool: ResourceKey, rec: ClaimRecord, d: Extract<ClaimDecision, { type: 'bind' }>, ports: ObservedPort[], now: number): Promise<void> {
    const { state } = this.d;
    const key = parseKeyString(d.claim);
    const entry = this.d.store.get(key);
    // The informer may already have brought another writer's binding or outcome (a status-only update wakes
    // nothing): a write on that fresh version would succeed and overwrite it, so it is taken over instead.
    const seen = entry && serverVerdict({ phase: rec.phase }, entry.object.status as ServerClaimStatus | undefined, parseKeyString(rec.pool).name);
    if (seen && seen.type !== 'keep') {
      this.unreserve(rec.pool, d.member, d.claim);
      this.inflight.delete(d.claim);
      this.takeVerdict(key, rec, seen);
      void this.settle(pool).catch(() => undefined);
      return;
    }
    const bound: ClaimRecord = { ...rec, ...bindFields(rec, d, ports, now) };
    const status = entry ? this.statusOf(key, bound, undefined, entry.object.metadata.generation, entry.object.status as ClaimStatus | undefined) : undefined;
    let outcome: ClaimWriteOutcome;
    try {
      outcome = status ? await this.statusRecord!.write(key, status) : { type: 'gone' };
    } catch (e) {
      // Not answered (the source stopped, or the apiserver could not be reached): the member is not this claim's.
      // If it landed after all, the apiserver's copy says so and the next leader, or the claim's next
      // reconcile, reads it (a bind written twice to one member is what the resourceVersion precondition stops).
      this.d.logger?.warn?.({ claim: d.claim, err: (e as Error).message }, 'bind not recorded');
      this.inflight.delete(d.claim);
      this.unreserve(rec.pool, d.member, d.claim);
      this.d.wakeClaim(key, BIND_RETRY_MS);
      return;
    }
    this.inflight.delete(d.claim);
    const member = state.member(rec.pool, d.member);
    const stillOurs = member.claim === d.claim;
    if (outcome.type === 'refused') {
      this.unreserve(rec.pool, d.member, d.claim);
      this.bindRefused(key, pool, outcome.message);
      return;
    }
    // The record as it is now (it may have been replaced while the write was in flight).
    const current = state.claims.get(d.claim);
    if (outcome.type === 'written' && stillOurs && current) {
      state.setMember(rec.pool, d.member, { uses: member.uses, claim: d.claim });
      state.setClaim(d.claim, { ...current, ...bindFields(current, d, ports, now) });
      this.report(d, pool, status);
      // Deleted while the bind was written: its reconcile releases it now.
      if (!this.d.store.get(key)) this.d.wakeClaim(key, 0);
      return;
    }
    this.unreserve(rec.pool, d.member, d.claim);
    if (outcome.type === 'gone') return;
    if (outcome.type === 'written') {
      // Another claim's binding, taken from the apiserver while this write was in flight, holds the member: this bind is undone.
      this.d.recorder.record({ type: 'Warning', reason: 'BindingLost', message: `${parseKeyString(rec.pool).name}-${d.member} is bound to another claim by another writer; waiting for another member`, involvedObject: { kind: 'InstanceClaim', namespace: key.namespace, name: key.name } });
      if (current) await this.rewrite(key, current);
      void this.settle(pool).catch(() => undefined);
      return;
    }
    if (!current) return;
    const verdict = serverVerdict({ phase: current.phase, ...(current.member !== undefined ? { member: current.member } : {}) }, outcome.status, parseKeyString(current.pool).name, outcome.editedBy);
    if (verdict.type === 'keep') {
      // The bind did not happen and no berth writer bound the claim: the rules run again, on the version just read.
      void this.settle(pool).catch(() => undefined);
      return;
    }
    this.takeVerdict(key, current, verdict);
  }

  /** The member is free again if this claim's bind (which did not happen) still reserves it. */
  private unreserve(pool: string, member: string, claim: string): void {
    const m = this.d.state.member(pool, member);
    if (m.claim !== claim) return;
    const { claim: _claim, ...rest } = m;
    this.d.state.setMember(pool, member, rest);
  }

  /**
   * The source refused the claim's bound status (say, an expiresAt the
   * apiserver cannot store): binding it again would be refused again, so the
   * claim fails with the refusal, and the member it was offered stays warm.
   */
  private bindRefused(key: ResourceKey, pool: ResourceKey, refusal: string): void {
    const id = keyString(key);
    const current = this.d.state.claims.get(id);
    if (!current || current.phase !== 'Pending') return;
    const failed = this.d.state.setClaim(id, { ...withoutBinding(current), phase: 'Failed', reason: 'BindRefused', message: `the claim's binding could not be recorded: ${refusal}` });
    void this.d.state.commit().catch(() => undefined);
    this.writeStatus(key, failed);
    this.d.recorder.record({ type: 'Warning', reason: 'BindRefused', message: failed.message ?? '', involvedObject: { kind: 'InstanceClaim', namespace: key.namespace, name: key.name } });
    this.d.wakePool(pool);
  }

  /** Writes the claim's status from its record through the source (after an undone bind). */
  private async rewrite(key: ResourceKey, rec: ClaimRecord, attempts = 3): Promise<void> {
    const entry = this.d.store.get(key);
    if (!entry || !this.statusRecord) return;
    const outcome = await this.statusRecord.write(key, this.statusOf(key, rec, undefined, entry.object.metadata.generation, entry.object.status as ClaimStatus | undefined)).catch(() => undefined);
    if (outcome?.type !== 'conflict') return;
    // Another manager's edit is written over (on the version just read); another berth writer's is taken over.
    const current = this.d.state.claims.get(keyString(key));
    if (outcome.editedBy !== undefined && current && attempts > 1) await this.rewrite(key, current, attempts - 1);
    else this.serverSaid(key, outcome.status, outcome.editedBy);
  }

  /** The record takes what the apiserver holds (another writer's binding or outcome, or no binding). */
  private takeVerdict(key: ResourceKey, rec: Readonly<ClaimRecord>, v: Exclude<ServerVerdict, { type: 'keep' }>): void {
    const { state, recorder } = this.d;
    const id = keyString(key);
    const pool = parseKeyString(rec.pool);
    const involved = { kind: 'InstanceClaim' as const, namespace: key.namespace, name: key.name };
    // A member this claim held was handed out: it goes through the recycle policy, never straight back to warm.
    if (rec.phase === 'Bound' && rec.member !== undefined && !(v.type === 'adopt' && v.member === rec.member)) {
      this.releaseMember(rec, id);
      if (rec.containerId !== undefined) this.d.labelMember?.(rec.containerId, undefined);
    }
    let next: ClaimRecord = withoutBinding(rec);
    switch (v.type) {
      case 'adopt': {
        if (state.member(rec.pool, v.member).released) {
          // Its last claim ended and it is being recycled or removed: not a member to hold. Whoever was
          // told this claim is Bound to it learns it is lost (the member is not taken from the recycle).
          next = { ...next, phase: 'Failed', reason: 'MemberLost', message: `the apiserver shows this claim bound to ${v.instance}, which was released and is being recycled; claim another` };
          recorder.record({ type: 'Warning', reason: 'MemberLost', message: next.message!, involvedObject: involved });
          break;
        }
        // A member is never on two claims: another claim of ours on it loses it to the apiserver's binding.
        for (const [otherId, other] of [...state.claimsOf(rec.pool)]) {
          if (otherId === id || other.phase !== 'Bound' || other.member !== v.member) continue;
          const lost = state.setClaim(otherId, { ...withoutBinding(other), phase: 'Pending' });
          const otherKey = parseKeyString(otherId);
          recorder.record({ type: 'Warning', reason: 'BindingLost', message: `${v.instance} is bound to ${key.name} by another writer; waiting for another member`, involvedObject: { kind: 'InstanceClaim', namespace: otherKey.namespace, name: otherKey.name } });
          this.writeStatus(otherKey, lost);
        }
        const m = state.member(rec.pool, v.member);
        state.setMember(rec.pool, v.member, { uses: m.uses, claim: id });
        next = {
          ...next,
          phase: 'Bound',
          member: v.member,
          instance: v.instance,
          ports: v.ports ?? [],
          boundAt: v.boundAt ?? this.d.clock.now(),
          reason: 'Bound',
          message: `bound to ${v.instance} (by another writer)`,
          ...(v.containerId !== undefined ? { containerId: v.containerId } : {}),
          ...(v.expiresAt !== undefined ? { expiresAt: v.expiresAt } : {}),
          ...(v.waitMs !== undefined ? { waitMs: v.waitMs } : {}),
        };
        if (v.containerId !== undefined) this.d.labelMember?.(v.containerId, claimLabelValue(key.name));
        if (v.expiresAt !== undefined) this.d.wakeClaim(key, v.expiresAt - this.d.clock.now());
        recorder.record({ type: 'Normal', reason: 'BindingAdopted', message: `the apiserver shows this claim bound to ${v.instance} by another writer; that binding is kept`, involvedObject: involved });
        break;
      }
      case 'ended':
        next = { ...next, phase: v.phase, reason: v.reason ?? v.phase, message: v.message ?? `${v.phase.toLowerCase()} by another writer` };
        break;
      case 'unbound':
        next = { ...next, phase: 'Pending' };
        recorder.record({ type: 'Warning', reason: 'BindingLost', message: 'the apiserver no longer shows this claim bound; waiting for a member again', involvedObject: involved });
        break;
    }
    this.writeStatus(key, state.setClaim(id, next));
    this.d.wakePool(pool);
    void this.settle(pool).catch(() => undefined);
  }

  private memberViews(pool: ResourceKey): MemberViews {
    const poolId = keyString(pool);
    const desiredHash = (this.d.store.get(pool)?.object.status as { configHash?: string } | undefined)?.configHash;
    const out: MemberViews = [];
    for (const a of this.d.members(pool)) {
      const member = a.labels[LABEL.member];
      if (member === undefined || a.containerId === undefined) continue;
      const rec = this.d.state.member(poolId, member);
      // A Pod labelled for a claim that does not hold it may have been handed out: never warm.
      const stale = claimLabelIsStale(a.labels[LABEL.claim], rec.claim !== undefined ? parseKeyString(rec.claim).name : undefined, rec.recycledAt);
      out.push({
        view: {
          member,
          containerId: a.containerId,
          ready: a.ready,
          terminating: a.terminating,
          current: desiredHash === undefined || a.labels[LABEL.configHash] === desiredHash,
          createdAt: a.createdAt,
          ...(rec.claim !== undefined ? { claimedBy: rec.claim } : {}),
          ...(rec.released || stale ? { released: true } : {}),
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
        state.setClaim(d.claim, { ...rec, ...bindFields(rec, d, members.get(d.member)?.ports ?? [], now) });
        return;
      }
      case 'timeout':
        state.setClaim(d.claim, {
          ...rec,
          phase: 'Failed',
          reason: d.reason,
          message:
            d.reason === 'ClaimTimeout'
              ? `no warm member of pool ${poolName} became free within ${Math.round(d.waitedMs / 1000)}s`
              : `pool ${poolName} does not exist in namespace ${parseKeyString(rec.pool).namespace}`,
        });
        return;
      case 'expire':
        this.releaseMember(rec, d.claim);
        state.setClaim(d.claim, { ...rec, phase: 'Expired', reason: 'LeaseExpired', message: 'the lease expired; the member was released' });
        return;
      case 'lost':
        state.forgetMember(rec.pool, d.member);
        state.setClaim(d.claim, {
          ...withoutBinding(rec),
          phase: 'Failed',
          reason: 'MemberLost',
          message: `its member ${rec.instance ?? `${poolName}-${d.member}`} is gone (removed outside berth, or with its pool); claim another`,
        });
        return;
      case 'release':
        this.releaseMember(rec, d.claim, true);
        state.deleteClaim(d.claim);
        return;
    }
  }

  private releaseMember(rec: Readonly<ClaimRecord>, claimId: string, deleted = false): void {
    if (rec.member === undefined) return;
    const m = this.d.state.member(rec.pool, rec.member);
    if (m.claim !== claimId) return;
    this.d.state.setMember(rec.pool, rec.member, { uses: m.uses + 1, released: true, ...(deleted ? { releasedBy: claimId } : {}) });
    if (rec.containerId !== undefined) this.d.labelMember?.(rec.containerId, undefined);
  }

  /**
   * The pool recycled or removed a released member: the deleted claim that
   * released it holds nothing any more (its finalizer may go). Until then a
   * new leader still finds the claim, so the member is never handed out dirty.
   */
  memberHandled(claimId: string | undefined): void {
    if (claimId !== undefined) this.d.onReleased?.(parseKeyString(claimId));
  }

  /** `written`: the status the source already holds for a bind (the store takes it as is). */
  private report(d: ClaimDecision, pool: ResourceKey, written?: ClaimStatus): void {
    const key = parseKeyString(d.claim);
    const poolId = keyString(pool);
    const involved = { kind: 'InstanceClaim' as const, namespace: key.namespace, name: key.name };
    const rec = this.d.state.claims.get(d.claim);
    switch (d.type) {
      case 'bind':
        if (!rec) return;
        if (written && this.d.store.get(key)) this.d.store.setStatus(key, written);
        else this.writeStatus(key, rec);
        this.d.labelMember?.(d.containerId, claimLabelValue(key.name));
        this.recordWait(poolId, d.waitMs);
        // The event (and its log line) and the metrics follow the answer: the request waiting on this
        // status continues only once this step returns.
        const warm = rec.warm ?? false;
        const message = `bound to ${rec.instance} after ${d.waitMs} ms`;
        afterAnswer(() => {
          this.d.metrics?.bound(poolId, d.waitMs / 1000, warm);
          this.d.metrics?.outcome(poolId, 'bound');
          this.d.recorder.record({ type: 'Normal', reason: 'Bound', message, involvedObject: involved });
        });
        if (rec.expiresAt !== undefined) this.d.wakeClaim(key, rec.expiresAt - this.d.clock.now());
        break;
      case 'timeout':
        if (!rec) return;
        this.writeStatus(key, rec);
        this.d.metrics?.outcome(poolId, 'timeout');
        this.d.recorder.record({ type: 'Warning', reason: rec.reason ?? d.reason, message: rec.message ?? '', involvedObject: involved });
        break;
      case 'lost':
        if (!rec) return;
        this.writeStatus(key, rec);
        this.d.recorder.record({ type: 'Warning', reason: 'MemberLost', message: rec.message ?? '', involvedObject: involved });
        break;
      case 'expire':
        if (rec) this.writeStatus(key, rec);
        this.d.metrics?.outcome(poolId, 'expired');
        this.d.recorder.record({ type: 'Normal', reason: 'Expired', message: rec?.message ?? 'the lease expired', involvedObject: involved });
        break;
      case 'release':
        if (d.member !== undefined) this.d.metrics?.outcome(poolId, 'released');
        // Held nothing: done now. Held a member: done once the pool has recycled or removed it (memberHandled).
        else this.d.onReleased?.(key);
        break;
    }
    // Every decision changes what the pool has to do or report: a bind takes a warm member (the pool
    // replaces it now), an expiry or a release frees one to recycle, a timeout leaves the claims it
    // counted as waiting (and may have grown for).
    this.d.wakePool(pool);
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
      poolNamespace: parseKeyString(rec.pool).namespace,
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

/** A bind's fields on the claim's record. */
function bindFields(rec: ClaimRecord, d: Extract<ClaimDecision, { type: 'bind' }>, ports: ObservedPort[], now: number): Partial<ClaimRecord> {
  const poolName = parseKeyString(rec.pool).name;
  return {
    phase: 'Bound',
    member: d.member,
    instance: `${poolName}-${d.member}`,
    containerId: d.containerId,
    ports,
    boundAt: now,
    waitMs: d.waitMs,
    warm: d.waitMs < WARM_BIND_MS,
    reason: 'Bound',
    message: `bound to ${poolName}-${d.member}`,
    ...(d.expiresAt !== undefined ? { expiresAt: d.expiresAt } : {}),
  };
}

/** The record without a binding (before it takes another, or none). */
function withoutBinding(rec: Readonly<ClaimRecord>): ClaimRecord {
  const { member: _m, instance: _i, containerId: _c, ports: _p, boundAt: _b, expiresAt: _e, waitMs: _w, warm: _warm, reason: _r, message: _msg, ...rest } = rec;
  return rest;
}
