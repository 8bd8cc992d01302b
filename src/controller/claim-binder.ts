// Binds InstanceClaims to warm, probe-passing pool members: oldest claim
// first, one member never bound to two claims. Binding decisions are made
// synchronously (no await between choosing a member and marking it taken),
// then made durable, then reported. A claim that finds a warm member binds in
// the same tick it arrives; one that does not waits FIFO until a member is
// ready or its pool's claimTimeoutSeconds passes.
import { keyString, parseKeyString, type InstanceClaim, type InstancePool, type ResourceKey } from '../spec/schema.js';
import { setCondition, type ClaimStatus } from '../spec/status.js';
import type { ObservedPort } from '../runtime/types.js';
import type { ResourceStore } from './resource-store.js';
import type { EventRecorder } from './event-recorder.js';
import type { ClaimState, ClaimRecord } from './claim-state.js';
import type { Clock } from './clock.js';
import { claimRequestedAt } from './claim-requested-at.js';

/** A pool member as the pool reconciler last saw it. */
export interface MemberView {
  member: string;
  /** Instance name users address it by (exec, logs): <pool>-<member>. */
  instance: string;
  containerId: string;
  ready: boolean;
  /** Carries the pool's current config hash. */
  current: boolean;
  createdAt: number;
  ports: ObservedPort[];
  /** Epoch ms of its last passing probe (or of start, without a probe). */
  lastReadyAt?: number;
}

export interface ClaimMetrics {
  bound(pool: string, waitSeconds: number, warm: boolean): void;
  outcome(pool: string, outcome: 'bound' | 'timeout' | 'expired' | 'released'): void;
}

export interface ClaimBinderDeps {
  store: ResourceStore;
  state: ClaimState;
  recorder: EventRecorder;
  clock: Clock;
  /** The pool should reconcile (grow for waiting claims, recycle released members). */
  wakePool: (pool: ResourceKey) => void;
  /** Reconcile the claim again after ms (its wait timeout or lease expiry). */
  wakeClaim: (claim: ResourceKey, afterMs: number) => void;
  metrics?: ClaimMetrics;
  /** A deleted claim's member is released (durably): a finalizer may be removed. */
  onReleased?: (claim: ResourceKey) => void;
}

const DEFAULT_CLAIM_TIMEOUT_SECONDS = 30;

export class ClaimBinder {
  private readonly views = new Map<string, MemberView[]>();
  private readonly waits = new Map<string, number[]>();

  constructor(private readonly d: ClaimBinderDeps) {}

  /** The pool reconciler's latest view of its members; binds waiting claims to any that are free. */
  async setMembers(pool: ResourceKey, views: MemberView[]): Promise<void> {
    this.views.set(keyString(pool), views);
    await this.tryBind(keyString(pool));
  }

  /** A member is about to be removed: it must not be bound from a view taken before. */
  dropMember(pool: ResourceKey, containerId: string): void {
    const p = keyString(pool);
    const views = this.views.get(p);
    if (views) this.views.set(p, views.filter((v) => v.containerId !== containerId));
  }

  forgetPool(pool: ResourceKey): void {
    this.views.delete(keyString(pool));
  }

  /** Claims waiting on this pool: the pool grows for them (up to maxSize). */
  pendingCount(pool: ResourceKey): number {
    const p = keyString(pool);
    let n = 0;
    for (const r of this.d.state.claims.values()) if (r.pool === p && r.phase === 'Pending') n++;
    return n;
  }

  /** Container of a pool member addressed as an instance (`<pool>-<member>`), for exec and logs. */
  resolveInstance(namespace: string, instance: string): string | undefined {
    for (const [pool, views] of this.views) {
      if (parseKeyString(pool).namespace !== namespace) continue;
      const v = views.find((m) => m.instance === instance);
      if (v) return v.containerId;
    }
    return undefined;
  }

  /** Recent claim wait times of a pool (ms), for its status figures. */
  waitFigures(pool: ResourceKey): { count: number; p50Ms?: number; p99Ms?: number } {
    const w = [...(this.waits.get(keyString(pool)) ?? [])].sort((a, b) => a - b);
    if (!w.length) return { count: 0 };
    const at = (q: number): number => w[Math.min(w.length - 1, Math.floor(q * w.length))]!;
    return { count: w.length, p50Ms: at(0.5), p99Ms: at(0.99) };
  }

  /** Level-triggered handling of one claim: bind, time out, expire, or release after deletion. */
  async reconcile(claimKey: ResourceKey): Promise<{ requeueAfterMs?: number }> {
    const { store, state, clock } = this.d;
    const id = keyString(claimKey);
    const entry = store.get(claimKey);
    let rec = state.claims.get(id);
    if (!entry) {
      // Deleted: a bound member is released (DELETE is how a claim is released).
      if (rec) {
        if (rec.phase === 'Bound') this.release(rec, id, 'released');
        state.claims.delete(id);
        await state.commit();
        this.d.wakePool(parseKeyString(rec.pool));
      }
      this.d.onReleased?.(claimKey);
      return {};
    }
    const claim = entry.resource as InstanceClaim;
    if (!rec) {
      rec = {
        pool: keyString({ kind: 'InstancePool', namespace: claimKey.namespace, name: claim.spec.poolRef.name }),
        phase: 'Pending',
        createdAt: claimRequestedAt(entry.object.metadata, clock.now()),
      };
      state.claims.set(id, rec);
    }
    const now = clock.now();
    if (rec.phase === 'Pending') {
      await this.tryBind(rec.pool);
      if (rec.phase === 'Pending') {
        const pool = store.get(parseKeyString(rec.pool))?.resource as InstancePool | undefined;
        const timeoutMs = (pool?.spec.claimTimeoutSeconds ?? DEFAULT_CLAIM_TIMEOUT_SECONDS) * 1000;
        const deadline = rec.createdAt + timeoutMs;
        if (now >= deadline) {
          rec.phase = 'Failed';
          rec.reason = pool ? 'ClaimTimeout' : 'PoolNotFound';
          rec.message = pool
            ? `no warm member of pool ${claim.spec.poolRef.name} became free within ${timeoutMs / 1000}s`
            : `pool ${claim.spec.poolRef.name} does not exist in namespace ${claimKey.namespace}`;
          await state.commit();
          this.d.metrics?.outcome(rec.pool, 'timeout');
          this.d.recorder.record({ type: 'Warning', reason: rec.reason, message: rec.message, involvedObject: { kind: 'InstanceClaim', namespace: claimKey.namespace, name: claimKey.name } });
          this.writeStatus(claimKey, rec);
          return {};
        }
        rec.reason = pool ? 'WaitingForMember' : 'PoolNotFound';
        rec.message = pool ? `waiting for a warm member of pool ${claim.spec.poolRef.name}` : `pool ${claim.spec.poolRef.name} does not exist (yet)`;
        this.writeStatus(claimKey, rec);
        this.d.wakePool(parseKeyString(rec.pool));
        return { requeueAfterMs: deadline - now };
      }
      return rec.expiresAt !== undefined ? { requeueAfterMs: Math.max(0, rec.expiresAt - now) } : {};
    }
    if (rec.phase === 'Bound' && rec.expiresAt !== undefined) {
      if (now >= rec.expiresAt) {
        this.release(rec, id, 'expired');
        rec.phase = 'Expired';
        rec.reason = 'LeaseExpired';
        rec.message = `the lease of ${claim.spec.ttlSeconds}s expired; the member was released`;
        await state.commit();
        this.d.recorder.record({ type: 'Normal', reason: 'Expired', message: rec.message, involvedObject: { kind: 'InstanceClaim', namespace: claimKey.namespace, name: claimKey.name } });
        this.writeStatus(claimKey, rec);
        this.d.wakePool(parseKeyString(rec.pool));
        return {};
      }
      this.writeStatus(claimKey, rec);
      return { requeueAfterMs: rec.expiresAt - now };
    }
    this.writeStatus(claimKey, rec);
    return {};
  }

  /** Pairs waiting claims (oldest first) with free warm members, durably, then reports them Bound. */
  private async tryBind(pool: string): Promise<void> {
    const { state, store, clock } = this.d;
    const views = this.views.get(pool);
    if (!views) return;
    const poolResource = store.get(parseKeyString(pool))?.resource as InstancePool | undefined;
    if (!poolResource) return;
    const pending = [...state.claims.entries()]
      .filter(([, r]) => r.pool === pool && r.phase === 'Pending')
      .sort(([ka, a], [kb, b]) => a.createdAt - b.createdAt || ka.localeCompare(kb));
    if (!pending.length) return;
    const free = views
      .filter((v) => {
        if (!v.ready) return false;
        const m = state.member(pool, v.member);
        if (m.claim !== undefined || m.released) return false;
        return m.recycledAt === undefined || (v.lastReadyAt ?? 0) > m.recycledAt;
      })
      .sort((a, b) => Number(b.current) - Number(a.current) || a.createdAt - b.createdAt);
    const now = clock.now();
    const bound: Array<[string, ClaimRecord]> = [];
    for (const [claimId, rec] of pending) {
      const v = free.shift();
      if (!v) break;
      const claimKey = parseKeyString(claimId);
      const claim = store.get(claimKey)?.resource as InstanceClaim | undefined;
      if (!claim) continue;
      const m = state.member(pool, v.member);
      state.setMember(pool, v.member, { ...m, claim: claimId, recycledAt: undefined });
      rec.phase = 'Bound';
      rec.member = v.member;
      rec.instance = v.instance;
      rec.containerId = v.containerId;
      rec.ports = v.ports;
      rec.boundAt = now;
      rec.waitMs = Math.max(0, now - rec.createdAt);
      rec.warm = rec.waitMs < 1000;
      rec.reason = 'Bound';
      rec.message = `bound to ${v.instance}`;
      if (claim.spec.ttlSeconds !== undefined) rec.expiresAt = now + claim.spec.ttlSeconds * 1000;
      bound.push([claimId, rec]);
    }
    if (!bound.length) return;
    await state.commit();
    for (const [claimId, rec] of bound) {
      const key = parseKeyString(claimId);
      this.writeStatus(key, rec);
      this.recordWait(pool, rec.waitMs ?? 0);
      this.d.metrics?.bound(pool, (rec.waitMs ?? 0) / 1000, rec.warm ?? false);
      this.d.metrics?.outcome(pool, 'bound');
      this.d.recorder.record({ type: 'Normal', reason: 'Bound', message: `bound to ${rec.instance} after ${rec.waitMs} ms`, involvedObject: { kind: 'InstanceClaim', namespace: key.namespace, name: key.name } });
      if (rec.expiresAt !== undefined) this.d.wakeClaim(key, rec.expiresAt - now);
    }
    // Fewer warm members now: the pool replenishes.
    this.d.wakePool(parseKeyString(pool));
  }

  private release(rec: ClaimRecord, claimId: string, outcome: 'released' | 'expired'): void {
    if (rec.member === undefined) return;
    const m = this.d.state.member(rec.pool, rec.member);
    if (m.claim === claimId) this.d.state.setMember(rec.pool, rec.member, { uses: m.uses + 1, released: true });
    this.d.metrics?.outcome(rec.pool, outcome);
  }

  private recordWait(pool: string, ms: number): void {
    const w = this.waits.get(pool) ?? [];
    w.push(ms);
    if (w.length > 1000) w.shift();
    this.waits.set(pool, w);
  }

  private writeStatus(key: ResourceKey, rec: ClaimRecord): void {
    const entry = this.d.store.get(key);
    if (!entry) return;
    const previous = entry.object.status as ClaimStatus | undefined;
    const nowIso = new Date(this.d.clock.now()).toISOString();
    const bound = rec.phase === 'Bound';
    const conditions = setCondition(
      previous?.conditions ?? [],
      { type: 'Bound', status: bound ? 'True' : 'False', reason: rec.reason ?? rec.phase, message: rec.message ?? '', observedGeneration: entry.object.metadata.generation },
      nowIso,
    );
    const status: ClaimStatus = {
      phase: rec.phase,
      ...(rec.instance !== undefined ? { instance: rec.instance } : {}),
      ...(rec.containerId !== undefined ? { containerId: rec.containerId } : {}),
      ...(rec.ports !== undefined ? { ports: rec.ports } : {}),
      ...(rec.boundAt !== undefined ? { boundAt: new Date(rec.boundAt).toISOString() } : {}),
      ...(rec.expiresAt !== undefined ? { expiresAt: new Date(rec.expiresAt).toISOString() } : {}),
      ...(rec.waitMs !== undefined ? { waitDurationMs: rec.waitMs } : {}),
      observedGeneration: entry.object.metadata.generation,
      conditions,
    };
    this.d.store.setStatus(key, status);
  }
}
