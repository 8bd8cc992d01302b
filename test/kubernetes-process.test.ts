// `berth controller --source kubernetes --runtime docker --leader-elect` as a
// process, as the Deployment in manifests/ runs it: the flags, /readyz, acting
// only while leading, exiting non-zero at once when the lease is lost, and
// releasing it on SIGTERM. Needs `npm run build` (bin/berth.js runs dist/).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoordinationV1Api, V1MicroTime } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noEngine, noKube } from './support/provided.js';
import { cleanupByLabel, TEST_IMAGE, uniqueControllerId } from './support/engine.js';
import { freePort, managedContainers, runCli } from './support/controller.js';
import { applyCrds, createNamespace, CustomResources, deleteNamespaces, startTestCluster, until, type BerthObject, type TestCluster } from './support/kube-cluster.js';
import { spawnKubeController, type KubeControllerProcess } from './support/kube-controller.js';

const LEASE_ARGS = ['--lease-duration', '3s', '--renew-deadline', '2s', '--retry-period', '500ms'];

describe.skipIf(noEngine() || noKube())('berth controller --source kubernetes (process)', () => {
  let cluster: TestCluster;
  let crs: CustomResources;
  let root = '';
  let ns = '';
  let lease = '';
  const controllerId = uniqueControllerId();
  const procs: KubeControllerProcess[] = [];

  const start = async (name: string, extra: string[] = []) => {
    const p = await spawnKubeController({
      kubeconfigPath: cluster.kubeconfigPath,
      controllerId,
      stateDir: join(root, name),
      port: await freePort(),
      args: ['--leader-elect', '--leader-election-namespace', ns, '--leader-election-id', lease, '--namespace', ns, ...LEASE_ARGS, ...extra],
      env: { POD_NAME: name, BERTH_LOG_LEVEL: 'info' },
    });
    procs.push(p);
    return p;
  };
  const holder = async () => (await cluster.kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ namespace: ns, name: lease }).catch(() => undefined))?.spec?.holderIdentity;

  beforeAll(async () => {
    cluster = await startTestCluster();
    crs = new CustomResources(cluster.kc);
    root = await mkdtemp(join(tmpdir(), 'berth-kube-proc-'));
    ns = `berth-proc-${cluster.runId}`;
    lease = `berth-leader-${cluster.runId}`;
    await applyCrds(cluster.kc);
    await createNamespace(cluster.kc, ns);
  });

  afterAll(async () => {
    for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    if (cluster) {
      await deleteNamespaces(cluster.kc, [ns]).catch(() => undefined);
      await cluster.close();
    }
    await cleanupByLabel(controllerId);
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('documents the flags, with controller-runtime lease defaults (15s / 10s / 2s)', async () => {
    const help = await runCli(['controller', '--help']);
    expect(help.code).toBe(0);
    for (const flag of ['--source', '--runtime', '--namespace', '--all-namespaces', '--kubeconfig', '--leader-elect', '--leader-election-namespace', '--leader-election-id']) expect(help.stdout).toContain(flag);
    expect(help.stdout).toMatch(/--lease-duration[\s\S]*default:\s+"15s"/);
    expect(help.stdout).toMatch(/--renew-deadline[\s\S]*default:\s+"10s"/);
    expect(help.stdout).toMatch(/--retry-period[\s\S]*default:\s+"2s"/);
    const bad = await runCli(['controller', '--source', 'kubernetes', '--specs', root, '--kubeconfig', cluster.kubeconfigPath]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('--specs and --source kubernetes exclude each other');
  });

  it('the leader converges a custom resource and serves the API; the follower answers 503 with Retry-After, and is not ready', async () => {
    const a = await start('proc-a');
    await until('proc-a to lead', async () => ((await holder()) === 'proc-a' ? true : undefined), 20_000);
    const b = await start('proc-b');
    const sleeper: BerthObject = {
      apiVersion: 'berth.dev/v1alpha1',
      kind: 'Instance',
      metadata: { name: 'web', namespace: ns },
      spec: { image: TEST_IMAGE, command: ['sh', '-c', "trap 'exit 0' TERM; sleep 3600 & wait"], stopGracePeriodSeconds: 1 },
    };
    await crs.create(sleeper);
    await crs.waitForCondition('Instance', ns, 'web', 'Ready', { timeoutMs: 60_000 });
    await until(`${a.server}/readyz`, async () => ((await fetch(`${a.server}/readyz`).catch(() => undefined))?.status === 200 ? true : undefined), 20_000);
    await until(`${b.server}/healthz`, async () => ((await fetch(`${b.server}/healthz`).catch(() => undefined))?.status === 200 ? true : undefined), 20_000);
    expect((await fetch(`${b.server}/readyz`)).status).toBe(503);
    const path = `/apis/berth.dev/v1alpha1/namespaces/${ns}/instances`;
    const leaderList = await fetch(`${a.server}${path}`);
    expect(leaderList.status).toBe(200);
    expect(((await leaderList.json()) as { items: unknown[] }).items).toHaveLength(1);
    // The follower: never an empty list, never a write it would keep to itself (issue 14, item 6).
    for (const init of [{ method: 'GET' }, { method: 'POST', body: JSON.stringify({ apiVersion: 'berth.dev/v1alpha1', kind: 'InstanceClaim', metadata: { name: 'c1', namespace: ns }, spec: { poolRef: { name: 'p' } } }), headers: { 'Content-Type': 'application/json' } }]) {
      const r = await fetch(`${b.server}${init.method === 'POST' ? path.replace('instances', 'instanceclaims') : path}`, init);
      expect(r.status).toBe(503);
      expect(r.headers.get('retry-after')).toBe('2');
      expect(((await r.json()) as { message: string }).message).toMatch(/follower/);
    }
    expect((await managedContainers(controllerId)).filter((c) => c.labels['berth.dev/name'] === 'web')).toHaveLength(1);
    expect(await holder()).toBe('proc-a');
  });

  it('a leader that loses its lease exits non-zero at once; the follower takes over', async () => {
    const [a, b] = procs as [KubeControllerProcess, KubeControllerProcess];
    const leases = cluster.kc.makeApiClient(CoordinationV1Api);
    // The leader renews every 500 ms: a replace between its renewals meets 409 and is tried again on the fresh copy.
    let stolenAt = 0;
    for (let attempt = 0; ; attempt++) {
      const l = await leases.readNamespacedLease({ namespace: ns, name: lease });
      stolenAt = Date.now();
      try {
        await leases.replaceNamespacedLease({ namespace: ns, name: lease, body: { ...l, spec: { ...l.spec, holderIdentity: 'intruder', acquireTime: new V1MicroTime(), renewTime: new V1MicroTime() } } });
        break;
      } catch (e) {
        if ((e as { code?: number }).code !== 409 || attempt >= 20) throw e;
      }
    }
    const code = await a.exited;
    expect(code).toBe(1);
    expect(Date.now() - stolenAt).toBeLessThan(2000); // its next renew (500 ms) sees the other holder
    expect(a.output()).toContain('leader lease lost: exiting');
    // The intruder never renews: b takes over once it expires, and carries on.
    await until('proc-b to lead', async () => ((await holder()) === 'proc-b' ? true : undefined), 20_000);
    await crs.patch('Instance', ns, 'web', { spec: { env: [{ name: 'V', value: 'b' }] } });
    await crs.waitForCondition('Instance', ns, 'web', 'Ready', { observedGeneration: 2, timeoutMs: 60_000 });
    expect(b.child.exitCode).toBeNull();
  });

  it('SIGTERM: stops acting, releases the lease (holder cleared), exits 0, leaves containers running', async () => {
    const b = procs[1]!;
    const before = (await managedContainers(controllerId)).filter((c) => c.state === 'running').map((c) => c.id);
    b.child.kill('SIGTERM');
    expect(await b.exited).toBe(0);
    expect(await holder()).toBe('');
    expect((await managedContainers(controllerId)).filter((c) => c.state === 'running').map((c) => c.id)).toEqual(before);
  });
});
