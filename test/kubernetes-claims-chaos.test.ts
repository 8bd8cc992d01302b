// Claims against the real apiserver while the leader is SIGKILLed again and
// again: two `berth controller --source kubernetes --leader-elect` processes,
// each replacement starting on an empty state dir (the shipped Deployment's
// emptyDir), and several clients that create a claim, wait for it to be
// Bound, exec nothing (the apiserver is their only interface) and delete it.
// No member is held by two clients at once (their own view), no two claims
// are Bound to one container (the apiserver's view, sampled), every claim
// ends, and the pool heals. Once with members as Docker containers, once as
// Pods on the real node.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoordinationV1Api, CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noEngine, noKube } from './support/provided.js';
import { cleanupByLabel, TEST_IMAGE, uniqueControllerId } from './support/engine.js';
import { heldTwice, type Hold } from './support/claim-holds.js';
import { freePort, managedContainers } from './support/controller.js';
import { applyCrds, createNamespace, CustomResources, deleteNamespaces, startTestCluster, until, type BerthObject, type TestCluster } from './support/kube-cluster.js';
import { spawnKubeController, type KubeControllerProcess } from './support/kube-controller.js';

const LEASE_ARGS = ['--lease-duration', '3s', '--renew-deadline', '2s', '--retry-period', '500ms'];
const CLIENTS = 4;
const KILLS = 3;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe.each(['docker', 'kubernetes'] as const)('claims across repeated leader SIGKILLs (Kubernetes source, processes, --runtime %s)', (runtime) => {
  const skip = noKube() || (runtime === 'docker' && noEngine());
  let cluster: TestCluster;
  let crs: CustomResources;
  let root = '';
  let ns = '';
  let lease = '';
  const controllerId = uniqueControllerId();
  const procs = new Map<string, KubeControllerProcess>();
  let restarts = 0;

  /** A replica as a Deployment's Pod starts: a new name (the lease identity) and a fresh state dir each time. */
  const start = async (): Promise<string> => {
    const name = `chaos-${restarts++}`;
    const p = await spawnKubeController({
      kubeconfigPath: cluster.kubeconfigPath,
      controllerId,
      stateDir: join(root, name),
      port: await freePort(),
      runtime,
      args: ['--leader-elect', '--leader-election-namespace', ns, '--leader-election-id', lease, '--namespace', ns, ...LEASE_ARGS],
      env: { POD_NAME: name },
    });
    procs.set(name, p);
    return name;
  };
  const holder = async () => (await cluster.kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ namespace: ns, name: lease }).catch(() => undefined))?.spec?.holderIdentity;

  beforeAll(async () => {
    if (skip) return;
    cluster = await startTestCluster();
    crs = new CustomResources(cluster.kc);
    root = await mkdtemp(join(tmpdir(), 'berth-kube-chaos-'));
    ns = `berth-chaos-${runtime === 'docker' ? 'd' : 'p'}-${cluster.runId}`;
    lease = `berth-leader-${cluster.runId}`;
    await applyCrds(cluster.kc);
    await createNamespace(cluster.kc, ns);
  });

  afterAll(async () => {
    for (const p of procs.values()) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    if (cluster) {
      await deleteNamespaces(cluster.kc, [ns]).catch(() => undefined);
      await cluster.close();
    }
    await cleanupByLabel(controllerId);
    if (root) await rm(root, { recursive: true, force: true });
  });

  /** The members as the runtime holds them: containers on the engine, or Pods not being deleted. */
  const memberCount = async (): Promise<number> => {
    if (runtime === 'docker') return (await managedContainers(controllerId)).length;
    const pods = await cluster.kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: ns, labelSelector: `berth.dev/managed-by=${controllerId}` });
    return pods.items.filter((p) => !p.metadata?.deletionTimestamp).length;
  };

  it.skipIf(skip)('no member is held twice, every claim ends, and the pool heals', async () => {
    const first = await start();
    await until('the first replica leads', async () => ((await holder()) === first ? true : undefined), 20_000);
    await start();
    await crs.create({
      apiVersion: 'berth.dev/v1alpha1',
      kind: 'InstancePool',
      metadata: { name: 'runners', namespace: ns },
      spec: {
        minReady: 2,
        maxSize: 4,
        claimTimeoutSeconds: 30,
        recycle: { policy: 'Reuse' },
        template: { image: TEST_IMAGE, ...(runtime === 'kubernetes' ? { imagePullPolicy: 'Never' } : {}), command: ['sh', '-c', "trap 'exit 0' TERM; sleep 3600 & wait"], network: 'none', stopGracePeriodSeconds: 1, healthCheck: { exec: { command: ['true'] }, periodSeconds: 5 } },
      },
    });
    await crs.waitForCondition('InstancePool', ns, 'runners', 'Ready', { timeoutMs: 30_000 });

    const holds: Hold[] = [];
    const problems: string[] = [];
    const outcomes = new Map<string, number>();
    let stop = false;
    const claim = (name: string): BerthObject => ({ apiVersion: 'berth.dev/v1alpha1', kind: 'InstanceClaim', metadata: { name, namespace: ns }, spec: { poolRef: { name: 'runners' } } });

    const client = async (c: number): Promise<void> => {
      for (let k = 0; !stop; k++) {
        const name = `c${c}-${k}`;
        const sentAt = performance.now();
        await crs.create(claim(name));
        let status: { phase?: string; containerId?: string } | undefined;
        // A failover can take a lease duration and a rebuild: wait well past claimTimeoutSeconds.
        for (let i = 0; (!status?.phase || status.phase === 'Pending') && i < 400; i++) {
          await sleep(100);
          status = (await crs.get('InstanceClaim', ns, name).catch(() => undefined))?.status as typeof status;
        }
        outcomes.set(status?.phase ?? 'none', (outcomes.get(status?.phase ?? 'none') ?? 0) + 1);
        if (status?.phase === 'Bound' && status.containerId) {
          const boundAt = performance.now();
          await sleep(Math.random() * 300);
          holds.push({ claim: name, containerId: status.containerId, sentAt, boundAt, releaseSentAt: performance.now() });
        }
        await crs.delete('InstanceClaim', ns, name);
      }
    };
    const sampler = async (): Promise<void> => {
      while (!stop) {
        const items = await crs.list('InstanceClaim', ns).catch(() => []);
        const byContainer = new Map<string, string>();
        for (const item of items) {
          const s = item.status as { phase?: string; containerId?: string } | undefined;
          if (s?.phase !== 'Bound' || !s.containerId || item.metadata.deletionTimestamp) continue;
          const other = byContainer.get(s.containerId);
          if (other) problems.push(`the apiserver shows ${other} and ${item.metadata.name} both Bound to ${s.containerId.slice(0, 12)}`);
          byContainer.set(s.containerId, item.metadata.name);
        }
        await sleep(200);
      }
    };
    const killLeaders = async (): Promise<void> => {
      for (let kill = 0; kill < KILLS; kill++) {
        await sleep(3_000 + Math.random() * 2_000);
        const leader = await holder();
        const p = leader ? procs.get(leader) : undefined;
        if (!leader || !p) throw new Error(`no leader process to kill (lease holder ${leader})`);
        p.child.kill('SIGKILL');
        await p.exited;
        await start();
        await until('a leader again', async () => {
          const h = await holder();
          return h && h !== leader ? true : undefined;
        }, 20_000);
      }
      await sleep(3_000);
    };
    const clients = [...Array.from({ length: CLIENTS }, (_, c) => client(c)), sampler()];
    // The clients stop however the kills end, before the namespace is deleted under them.
    try {
      await killLeaders();
    } finally {
      stop = true;
      await Promise.allSettled(clients);
    }
    await Promise.all(clients);

    // The clients' view: a claim whose whole request fell inside another's hold of the same member got it twice.
    problems.push(...heldTwice(holds));
    expect(problems).toEqual([]);
    expect(Object.fromEntries(outcomes)).toEqual(expect.objectContaining({ Bound: expect.any(Number) }));
    expect([...outcomes.keys()].every((phase) => phase === 'Bound' || phase === 'Failed')).toBe(true);
    expect(holds.length).toBeGreaterThanOrEqual(KILLS * CLIENTS);

    await until('every claim released and gone', async () => ((await crs.list('InstanceClaim', ns)).length === 0 ? true : undefined), 60_000);
    await until('pool healed', async () => {
      const s = (await crs.get('InstancePool', ns, 'runners'))?.status as { ready?: number; claimed?: number; terminating?: number; replicas?: number } | undefined;
      const members = await memberCount();
      return s && (s.ready ?? 0) >= 2 && s.claimed === 0 && s.terminating === 0 && members === s.replicas && members <= 4 ? true : undefined;
    }, 30_000);
  });
});
