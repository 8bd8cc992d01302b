// Leader election on a coordination.k8s.io/v1 Lease, as client-go's
// leaderelection package (and so controller-runtime) does it, with the same
// defaults: 15 s lease, 10 s renew deadline, 2 s retry period.
// - Acquire: every retryPeriod (with jitter), read the Lease; take it when it is
//   free (no holder) or expired. Expiry is judged by *our* clock: the time we
//   last saw the record change plus its leaseDurationSeconds, never by the
//   holder's renewTime, so clock skew between replicas cannot hand the lease
//   to two of them. Writes carry the resourceVersion: of two replicas racing
//   for an expired lease, one gets 409 and stays a follower.
// - Lead: onStartedLeading(signal) runs; every retryPeriod the lease is renewed.
//   When renewing keeps failing for renewDeadline, or another holder shows up,
//   leadership is lost: the signal aborts at once and onStoppedLeading runs.
//   renewDeadline < leaseDuration leaves a margin: the old leader stops before
//   any other replica may consider the lease expired.
// - Cancel (the run signal aborts while leading): stop, then release the lease
//   (holder cleared) so a follower takes over without waiting for expiry.
import { CoordinationV1Api, V1MicroTime, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import { callOptions, kubeError, sleep } from './kube-api.js';

import { LEADER_ELECTION_DEFAULTS } from './leader-election-defaults.js';
export { LEADER_ELECTION_DEFAULTS };
/** wait.JitterUntil's factor in client-go's acquire loop. */
const JITTER_FACTOR = 1.2;

export interface LeaseRecord {
  holderIdentity: string;
  leaseDurationSeconds: number;
  acquireTime?: Date;
  renewTime?: Date;
  leaseTransitions: number;
  /** Of the Lease object; a write with it is conditional. */
  resourceVersion?: string;
}

/** Where the record lives; a seam for unit tests. */
export interface LeaseLock {
  readonly description: string;
  get(signal: AbortSignal): Promise<LeaseRecord | undefined>;
  create(record: LeaseRecord, signal: AbortSignal): Promise<LeaseRecord>;
  /** Conditional on record.resourceVersion (409 when it is stale). */
  update(record: LeaseRecord, signal: AbortSignal): Promise<LeaseRecord>;
}

export interface LeaderElectionOptions {
  lock: LeaseLock;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** Clear the holder when the run signal aborts while leading (default true). */
  releaseOnCancel?: boolean;
  /** Leading from now until signal aborts. May return a promise; its rejection is logged. */
  onStartedLeading(signal: AbortSignal): void | Promise<void>;
  /** Called once leadership ends (lost or released), after the leading signal aborted. */
  onStoppedLeading(reason: 'lost' | 'released'): void;
  /** The holder changed (including to us). */
  onNewLeader?(identity: string): void;
  logger?: { debug(o: object, msg?: string): void; info(o: object, msg?: string): void; warn(o: object, msg?: string): void };
  clock?: { now(): number };
  random?: () => number;
}

export class LeaderElector {
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
  private observed: LeaseRecord | undefined;
  private observedAt = 0;
  private leading: AbortController | undefined;
  private lastHolder: string | undefined;
  private release: boolean;
  private running = false;
  readonly stats = { acquired: 0, renewals: 0, renewFailures: 0, lost: 0 };

  constructor(private readonly o: LeaderElectionOptions) {
    this.leaseDurationMs = o.leaseDurationMs ?? LEADER_ELECTION_DEFAULTS.leaseDurationMs;
    this.renewDeadlineMs = o.renewDeadlineMs ?? LEADER_ELECTION_DEFAULTS.renewDeadlineMs;
    this.retryPeriodMs = o.retryPeriodMs ?? LEADER_ELECTION_DEFAULTS.retryPeriodMs;
    this.release = o.releaseOnCancel ?? true;
    // client-go's checks: the holder must give up before anyone may take over.
    if (this.leaseDurationMs <= this.renewDeadlineMs) throw new Error('leader election: the lease duration must be greater than the renew deadline');
    if (this.renewDeadlineMs <= JITTER_FACTOR * this.retryPeriodMs) throw new Error(`leader election: the renew deadline must be greater than ${JITTER_FACTOR} x the retry period`);
    if (this.retryPeriodMs < 1 || Math.round(this.leaseDurationMs / 1000) < 1) throw new Error('leader election: durations must be positive (the lease at least 1 s)');
    if (!o.identity) throw new Error('leader election: an identity is required');
  }

  get identity(): string {
    return this.o.identity;
  }

  get isLeader(): boolean {
    return this.leading !== undefined && !this.leading.signal.aborted;
  }

  /** The holder as last observed ('' when free, undefined before the first read). */
  get leader(): string | undefined {
    return this.observed?.holderIdentity;
  }

  /**
   * Stop as if the process died: no release, the lease runs out on its own
   * (tests of failover; a crash). The run signal should be aborted as well.
   */
  abandon(): void {
    this.release = false;
    this.leading?.abort(new Error('leadership abandoned'));
  }

  /**
   * Campaigns until leading, leads until the lease is lost or signal aborts.
   * Resolves when leadership ended (or signal aborted before it began).
   */
  async run(signal: AbortSignal): Promise<void> {
    if (this.running) throw new Error('leader elector already running');
    this.running = true;
    try {
      if (!(await this.acquire(signal))) return;
      await this.lead(signal);
    } finally {
      this.running = false;
    }
  }

  private get now(): number {
    return (this.o.clock ?? Date).now();
  }

  private async acquire(signal: AbortSignal): Promise<boolean> {
    const log = this.o.logger;
    log?.info({ lease: this.o.lock.description, identity: this.o.identity }, 'attempting to acquire the leader lease');
    while (!signal.aborted) {
      const attempt = AbortSignal.any([signal, AbortSignal.timeout(this.renewDeadlineMs)]);
      if ((await this.tryAcquireOrRenew(attempt)) === 'ok') {
        this.stats.acquired++;
        log?.info({ lease: this.o.lock.description, identity: this.o.identity }, 'acquired the leader lease');
        return true;
      }
      const jittered = this.retryPeriodMs * (1 + JITTER_FACTOR * (this.o.random ?? Math.random)());
      await sleep(jittered, signal).catch(() => undefined);
    }
    return false;
  }

  private async lead(signal: AbortSignal): Promise<void> {
    const log = this.o.logger;
    const leading = new AbortController();
    this.leading = leading;
    const onCancel = (): void => leading.abort(new Error('leader election cancelled'));
    signal.addEventListener('abort', onCancel, { once: true });
    void Promise.resolve()
      .then(() => this.o.onStartedLeading(leading.signal))
      .catch((e: unknown) => log?.warn({ err: (e as Error).message }, 'onStartedLeading failed'));

    let reason: 'lost' | 'released' = 'lost';
    try {
      while (!leading.signal.aborted) {
        await sleep(this.retryPeriodMs, leading.signal).catch(() => undefined);
        if (leading.signal.aborted) break;
        const deadline = this.now + this.renewDeadlineMs;
        let renewed = false;
        while (!leading.signal.aborted) {
          const left = deadline - this.now;
          if (left <= 0) break;
          const result = await this.tryAcquireOrRenew(AbortSignal.any([leading.signal, AbortSignal.timeout(left)]));
          if (result === 'ok') {
            renewed = true;
            this.stats.renewals++;
            break;
          }
          this.stats.renewFailures++;
          if (result === 'held') {
            log?.warn({ holder: this.observed?.holderIdentity }, 'the lease is held by another replica');
            break; // someone else holds it: lost, at once
          }
          await sleep(Math.min(this.retryPeriodMs, Math.max(0, deadline - this.now)), leading.signal).catch(() => undefined);
        }
        if (!renewed && !leading.signal.aborted) {
          log?.warn({ lease: this.o.lock.description, renewDeadlineMs: this.renewDeadlineMs }, 'failed to renew the leader lease; leadership lost');
          break;
        }
      }
      if (signal.aborted && this.release) {
        reason = 'released';
        await this.releaseLease();
      }
    } finally {
      signal.removeEventListener('abort', onCancel);
      leading.abort(new Error('leadership lost'));
      if (reason === 'lost') this.stats.lost++;
      this.leading = undefined;
      this.o.onStoppedLeading(reason);
    }
  }

  /** One read and, when we may hold the lease, one conditional write. */
  private async tryAcquireOrRenew(signal: AbortSignal): Promise<'ok' | 'held' | 'failed'> {
    const now = this.now;
    const durationSeconds = Math.round(this.leaseDurationMs / 1000);
    let current: LeaseRecord | undefined;
    try {
      current = await this.o.lock.get(signal);
    } catch (e) {
      this.o.logger?.debug({ err: (e as Error).message }, 'reading the lease failed');
      return 'failed';
    }
    if (!current) {
      try {
        const created = await this.o.lock.create({ holderIdentity: this.o.identity, leaseDurationSeconds: durationSeconds, acquireTime: new Date(now), renewTime: new Date(now), leaseTransitions: 0 }, signal);
        this.observe(created, this.now);
        return 'ok';
      } catch (e) {
        this.o.logger?.debug({ err: (e as Error).message }, 'creating the lease failed');
        return 'failed';
      }
    }
    if (!this.observed || this.observed.resourceVersion !== current.resourceVersion || this.observed.holderIdentity !== current.holderIdentity) this.observe(current, now);
    const ours = current.holderIdentity === this.o.identity;
    if (current.holderIdentity && !ours && this.observedAt + current.leaseDurationSeconds * 1000 > now) return 'held';
    const next: LeaseRecord = {
      holderIdentity: this.o.identity,
      leaseDurationSeconds: durationSeconds,
      acquireTime: ours && current.acquireTime ? current.acquireTime : new Date(now),
      renewTime: new Date(now),
      leaseTransitions: ours ? current.leaseTransitions : current.leaseTransitions + 1,
      ...(current.resourceVersion ? { resourceVersion: current.resourceVersion } : {}),
    };
    try {
      const updated = await this.o.lock.update(next, signal);
      this.observe(updated, this.now);
      return 'ok';
    } catch (e) {
      this.o.logger?.debug({ err: (e as Error).message }, 'updating the lease failed');
      return 'failed';
    }
  }

  /**
   * Clears the holder so a follower takes over at once. A renew aborted by the
   * cancel may still have landed on the server, leaving our resourceVersion
   * stale: on a failed write, read the lease again and, while it is still
   * ours, try once more with what the server holds.
   */
  private async releaseLease(): Promise<void> {
    const signal = AbortSignal.timeout(this.renewDeadlineMs);
    let rec = this.observed;
    for (let attempt = 0; attempt < 2; attempt++) {
      if (!rec || rec.holderIdentity !== this.o.identity) return;
      const now = this.now;
      try {
        const released = await this.o.lock.update(
          { holderIdentity: '', leaseDurationSeconds: 1, acquireTime: new Date(now), renewTime: new Date(now), leaseTransitions: rec.leaseTransitions, ...(rec.resourceVersion ? { resourceVersion: rec.resourceVersion } : {}) },
          signal,
        );
        this.observe(released, now);
        this.o.logger?.info({ lease: this.o.lock.description }, 'released the leader lease');
        return;
      } catch (e) {
        if (attempt === 1 || signal.aborted) {
          this.o.logger?.warn({ err: (e as Error).message }, 'releasing the lease failed; it expires on its own');
          return;
        }
        rec = await this.o.lock.get(signal).catch(() => undefined);
      }
    }
  }

  private observe(rec: LeaseRecord, at: number): void {
    this.observed = rec;
    this.observedAt = at;
    if (rec.holderIdentity !== this.lastHolder) {
      this.lastHolder = rec.holderIdentity;
      if (rec.holderIdentity) this.o.onNewLeader?.(rec.holderIdentity);
    }
  }
}

/** The Lease namespace/name through client-node (MicroTime fields with microseconds, as the API requires). */
export function kubernetesLeaseLock(kc: KubeConfig, namespace: string, name: string): LeaseLock {
  const api = kc.makeApiClient(CoordinationV1Api);
  const toRecord = (l: V1Lease): LeaseRecord => ({
    holderIdentity: l.spec?.holderIdentity ?? '',
    leaseDurationSeconds: l.spec?.leaseDurationSeconds ?? 0,
    // client-node 1.4 does not deserialize V1MicroTime: these arrive as strings.
    ...(l.spec?.acquireTime ? { acquireTime: new Date(l.spec.acquireTime as unknown as string) } : {}),
    ...(l.spec?.renewTime ? { renewTime: new Date(l.spec.renewTime as unknown as string) } : {}),
    leaseTransitions: l.spec?.leaseTransitions ?? 0,
    ...(l.metadata?.resourceVersion ? { resourceVersion: l.metadata.resourceVersion } : {}),
  });
  const body = (r: LeaseRecord): V1Lease => ({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name, namespace, ...(r.resourceVersion ? { resourceVersion: r.resourceVersion } : {}) },
    spec: {
      holderIdentity: r.holderIdentity,
      leaseDurationSeconds: r.leaseDurationSeconds,
      leaseTransitions: r.leaseTransitions,
      // A plain Date serializes with milliseconds, which the API refuses for MicroTime.
      ...(r.acquireTime ? { acquireTime: new V1MicroTime(r.acquireTime.getTime()) } : {}),
      ...(r.renewTime ? { renewTime: new V1MicroTime(r.renewTime.getTime()) } : {}),
    },
  });
  return {
    description: `lease ${namespace}/${name}`,
    async get(signal) {
      try {
        return toRecord(await api.readNamespacedLease({ namespace, name }, callOptions({ signal })));
      } catch (e) {
        const err = kubeError(e, `get lease ${namespace}/${name}`);
        if (err.code === 404) return undefined;
        throw err;
      }
    },
    async create(r, signal) {
      try {
        return toRecord(await api.createNamespacedLease({ namespace, body: body(r) }, callOptions({ signal })));
      } catch (e) {
        throw kubeError(e, `create lease ${namespace}/${name}`);
      }
    },
    async update(r, signal) {
      try {
        return toRecord(await api.replaceNamespacedLease({ namespace, name, body: body(r) }, callOptions({ signal })));
      } catch (e) {
        throw kubeError(e, `update lease ${namespace}/${name}`);
      }
    },
  };
}
