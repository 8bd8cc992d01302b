// Leader election on a real coordination.k8s.io/v1 Lease (the test cluster's
// apiserver, through the fault proxy for the renew failures), with short
// durations; the defaults are asserted separately.
import { CoordinationV1Api, KubeConfig, V1MicroTime } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubernetesLeaseLock, LEADER_ELECTION_DEFAULTS, LeaderElector, type LeaderElectionOptions } from '../src/sources/kubernetes/leader-election.js';
import { deleteNamespaces, freshNamespace, testKubeConfig } from './support/kube-cluster.js';
import { startFaultProxy, type KubeFaultProxy } from './support/kube-fault-proxy.js';
import { noKube } from './support/provided.js';

let server: KubeFaultProxy;
let direct: KubeConfig;
let NS = 'default';
let kc: KubeConfig;
let leases: CoordinationV1Api;
let n = 0;

const FAST = { leaseDurationMs: 2000, renewDeadlineMs: 1500, retryPeriodMs: 300 };

async function waitFor<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 8000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

interface Candidate {
  elector: LeaderElector;
  abort: AbortController;
  done: Promise<void>;
  log: string[];
  leadingSignal: AbortSignal | undefined;
}

function candidate(name: string, identity: string, extra: Partial<LeaderElectionOptions> = {}): Candidate {
  const c: Candidate = { elector: undefined as unknown as LeaderElector, abort: new AbortController(), done: Promise.resolve(), log: [], leadingSignal: undefined };
  c.elector = new LeaderElector({
    lock: kubernetesLeaseLock(kc, NS, name),
    identity,
    ...FAST,
    onStartedLeading: (signal) => {
      c.leadingSignal = signal;
      c.log.push('started');
    },
    onStoppedLeading: (reason) => c.log.push(`stopped:${reason}:${c.leadingSignal?.aborted ? 'aborted' : 'NOT aborted'}`),
    ...extra,
  });
  c.done = c.elector.run(c.abort.signal);
  return c;
}

const readLease = (name: string) => leases.readNamespacedLease({ namespace: NS, name });

beforeAll(async () => {
  if (noKube()) return;
  direct = testKubeConfig();
  NS = await freshNamespace(direct, 'berth-lease');
  ({ proxy: server, kc } = await startFaultProxy(direct));
  leases = kc.makeApiClient(CoordinationV1Api);
});

afterAll(async () => {
  await server?.close();
  if (direct) await deleteNamespaces(direct, [NS]);
});

describe.skipIf(noKube())('LeaderElector', () => {
  it('defaults to 15 s lease, 10 s renew deadline, 2 s retry period (as controller-runtime)', () => {
    expect(LEADER_ELECTION_DEFAULTS).toEqual({ leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 });
    const e = new LeaderElector({ lock: kubernetesLeaseLock(kc, 'default', 'x'), identity: 'a', onStartedLeading: () => undefined, onStoppedLeading: () => undefined });
    expect([e.leaseDurationMs, e.renewDeadlineMs, e.retryPeriodMs]).toEqual([15_000, 10_000, 2_000]);
  });

  it('refuses durations that would let two replicas lead', () => {
    const base = { lock: kubernetesLeaseLock(kc, 'default', 'x'), identity: 'a', onStartedLeading: () => undefined, onStoppedLeading: () => undefined };
    expect(() => new LeaderElector({ ...base, leaseDurationMs: 10_000, renewDeadlineMs: 10_000 })).toThrow(/greater than the renew deadline/);
    expect(() => new LeaderElector({ ...base, renewDeadlineMs: 2_000, retryPeriodMs: 2_000 })).toThrow(/1.2 x the retry period/);
  });

  it('elects exactly one of two candidates and records it on the Lease (MicroTime fields)', async () => {
    const name = `le-${++n}`;
    const a = candidate(name, 'replica-a');
    await waitFor('a to lead', () => a.elector.isLeader);
    const b = candidate(name, 'replica-b');
    await new Promise((r) => setTimeout(r, 1500));
    expect(a.elector.isLeader).toBe(true);
    expect(b.elector.isLeader).toBe(false);
    expect(b.log).toEqual([]);
    expect(b.elector.leader).toBe('replica-a');
    const lease = await readLease(name);
    expect(lease.spec).toMatchObject({ holderIdentity: 'replica-a', leaseDurationSeconds: 2, leaseTransitions: 0 });
    expect(String(lease.spec?.renewTime)).toMatch(/\.\d{6}Z$/);
    // It renews every retry period.
    const renewed = await waitFor('a renewal', async () => {
      const l = await readLease(name);
      return String(l.spec?.renewTime) !== String(lease.spec?.renewTime) ? l : undefined;
    });
    expect(renewed.spec?.holderIdentity).toBe('replica-a');
    a.abort.abort();
    b.abort.abort();
    await Promise.all([a.done, b.done]);
  });

  it('hands over within the lease duration when the leader dies without releasing', async () => {
    const name = `le-${++n}`;
    const a = candidate(name, 'replica-a');
    await waitFor('a to lead', () => a.elector.isLeader);
    const b = candidate(name, 'replica-b');
    await new Promise((r) => setTimeout(r, 700)); // b has observed a's record
    const killedAt = Date.now();
    a.elector.abandon();
    a.abort.abort();
    await a.done;
    expect(a.log).toEqual(['started', 'stopped:lost:aborted']);
    expect((await readLease(name)).spec?.holderIdentity).toBe('replica-a'); // not released
    await waitFor('b to lead', () => b.elector.isLeader, 10_000);
    const handover = Date.now() - killedAt;
    // Expiry is judged from when b last saw the record change (<= one retry period before the kill) + one retry to notice.
    expect(handover).toBeLessThanOrEqual(FAST.leaseDurationMs + 2 * FAST.retryPeriodMs * 2.2);
    expect(handover).toBeGreaterThanOrEqual(FAST.leaseDurationMs - FAST.retryPeriodMs * 2.2 - 200);
    const lease = await readLease(name);
    expect(lease.spec).toMatchObject({ holderIdentity: 'replica-b', leaseTransitions: 1 });
    b.abort.abort();
    await b.done;
  });

  it('releases the lease on cancel, so the follower takes over without waiting for expiry', async () => {
    const name = `le-${++n}`;
    const a = candidate(name, 'replica-a', { leaseDurationMs: 10_000, renewDeadlineMs: 1500 });
    await waitFor('a to lead', () => a.elector.isLeader);
    const b = candidate(name, 'replica-b');
    await new Promise((r) => setTimeout(r, 500));
    const cancelledAt = Date.now();
    a.abort.abort();
    await a.done;
    expect(a.log).toEqual(['started', 'stopped:released:aborted']);
    await waitFor('b to lead', () => b.elector.isLeader);
    expect(Date.now() - cancelledAt).toBeLessThan(3000); // far below a's 10 s lease
    b.abort.abort();
    await b.done;
  });

  it('releases on cancel even when a renew it did not see landed (stale resourceVersion): the holder is cleared', async () => {
    const name = `le-${++n}`;
    const a = candidate(name, 'replica-a', { leaseDurationMs: 10_000, renewDeadlineMs: 1500, retryPeriodMs: 1000 });
    await waitFor('a to lead', () => a.elector.isLeader);
    // What a renew aborted by SIGTERM leaves behind: the write reached the server, the answer never reached a.
    const l = await readLease(name);
    await leases.replaceNamespacedLease({ namespace: NS, name, body: { ...l, spec: { ...l.spec, renewTime: new V1MicroTime() } } });
    a.abort.abort();
    await a.done;
    expect(a.log).toEqual(['started', 'stopped:released:aborted']);
    expect((await readLease(name)).spec?.holderIdentity ?? '').toBe('');
  });

  it('stops leading at once when renewing fails past the renew deadline', async () => {
    const name = `le-${++n}`;
    const a = candidate(name, 'replica-a');
    await waitFor('a to lead', () => a.elector.isLeader);
    const remove = server.injectFault({ path: `/leases/${name}`, status: 503, times: Infinity });
    const failingSince = Date.now();
    await a.done; // run() returns once leadership is lost
    remove();
    expect(a.log).toEqual(['started', 'stopped:lost:aborted']);
    const took = Date.now() - failingSince;
    expect(took).toBeLessThanOrEqual(FAST.retryPeriodMs + FAST.renewDeadlineMs + 500);
    expect(took).toBeLessThan(FAST.leaseDurationMs); // before anyone else could take the lease
  });

  it('stops leading at once when another holder shows up on the Lease', async () => {
    const name = `le-${++n}`;
    const a = candidate(name, 'replica-a');
    await waitFor('a to lead', () => a.elector.isLeader);
    const lease = await readLease(name);
    await leases.replaceNamespacedLease({ namespace: NS, name, body: { ...lease, spec: { ...lease.spec, holderIdentity: 'usurper', renewTime: new V1MicroTime(), acquireTime: new V1MicroTime() } } });
    await a.done;
    expect(a.log).toEqual(['started', 'stopped:lost:aborted']);
  });
});
