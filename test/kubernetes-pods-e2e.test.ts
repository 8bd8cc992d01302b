// The Deployment's mode end to end on the real node, as a user runs it:
// `berth controller --source kubernetes --runtime kubernetes --namespace NS`
// processes, resources created with the API, and the berth CLI. An Instance
// becomes a Running, Ready Pod; a spec edit replaces it; a pool fills, a
// claim binds, `berth exec` runs in the member; deleting cleans up. Two
// controllers scoped to two namespaces, with the same controller id (the
// default a user gets), leave each other's Pods alone (issue 14, item 1: each
// pruned the other's Pods, listing cluster-wide).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_IMAGE, uniqueControllerId } from './support/engine.js';
import { freePort, killController, runCli } from './support/controller.js';
import { applyCrds, CustomResources, deleteNamespaces, freshNamespace, testKubeConfig, testKubeconfigPath, until, type BerthObject } from './support/kube-cluster.js';
import { spawnKubeController, type KubeControllerProcess } from './support/kube-controller.js';
import { noKube } from './support/provided.js';

const SLEEP = ['sh', '-c', "trap 'exit 0' TERM; sleep 3600 & wait"];

describe.skipIf(noKube())('Pods on the real node: two namespace-scoped controllers, Instances, a pool, a claim, exec', () => {
  const kc = noKube() ? undefined! : testKubeConfig();
  const crs = noKube() ? undefined! : new CustomResources(kc);
  const core = noKube() ? undefined! : kc.makeApiClient(CoreV1Api);
  const controllerId = uniqueControllerId(); // shared by both controllers, as the default id would be
  let root = '';
  let a = '';
  let b = '';
  const procs: Record<string, KubeControllerProcess> = {};

  const podsIn = async (namespace: string): Promise<V1Pod[]> => (await core.listNamespacedPod({ namespace, labelSelector: `berth.dev/managed-by=${controllerId}` })).items;
  const running = (p: V1Pod) => p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp;
  const instance = (name: string, namespace: string, extra: Record<string, unknown> = {}): BerthObject => ({
    apiVersion: 'berth.dev/v1alpha1',
    kind: 'Instance',
    metadata: { name, namespace },
    spec: { image: TEST_IMAGE, imagePullPolicy: 'Never', command: SLEEP, stopGracePeriodSeconds: 1, ...extra },
  });

  beforeAll(async () => {
    await applyCrds(kc);
    a = await freshNamespace(kc, 'berth-e2e-a');
    b = await freshNamespace(kc, 'berth-e2e-b');
    root = await mkdtemp(join(tmpdir(), 'berth-e2e-'));
    for (const ns of [a, b]) {
      procs[ns] = await spawnKubeController({
        kubeconfigPath: testKubeconfigPath(),
        controllerId,
        runtime: 'kubernetes',
        stateDir: join(root, ns),
        port: await freePort(),
        args: ['--namespace', ns],
        env: { BERTH_LOG_LEVEL: 'info' },
      });
    }
    for (const ns of [a, b]) await until(`the controller of ${ns} to be ready`, async () => ((await fetch(`${procs[ns]!.server}/readyz`).catch(() => undefined))?.ok ? true : undefined), 30_000, 200);
  });

  afterAll(async () => {
    for (const p of Object.values(procs)) await killController(p);
    if (kc) await deleteNamespaces(kc, [a, b].filter(Boolean));
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('an Instance in each namespace becomes a Running, Ready Pod; neither controller touches the other\'s', async () => {
    const created = await Promise.all([crs.create(instance('web', a)), crs.create(instance('web', b))]);
    for (const ns of [a, b]) await crs.waitForCondition('Instance', ns, 'web', 'Ready', { timeoutMs: 90_000 });
    const before = [...(await podsIn(a)), ...(await podsIn(b))];
    expect(before.map((p) => p.metadata?.namespace).sort()).toEqual([a, b].sort());
    expect(before.every(running)).toBe(true);
    for (const [i, ns] of [a, b].entries()) {
      const [pod] = await podsIn(ns);
      expect(pod?.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'Instance', name: 'web', uid: created[i]!.metadata.uid });
      expect(pod?.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    }
    // Each controller's resync and its Pod watch see only its namespace: over a few seconds, nothing is pruned or replaced.
    await new Promise((r) => setTimeout(r, 5_000));
    const after = [...(await podsIn(a)), ...(await podsIn(b))];
    expect(after.map((p) => p.metadata?.uid).sort()).toEqual(before.map((p) => p.metadata?.uid).sort());
    expect(after.every(running)).toBe(true);
    for (const ns of [a, b]) expect(procs[ns]!.output()).not.toMatch(/"cause":"spec deleted"|prun/);
  });

  it('a spec edit replaces the Pod; observedGeneration follows', async () => {
    const [old] = await podsIn(a);
    await crs.patch('Instance', a, 'web', { spec: { env: [{ name: 'MODE', value: 'b' }] } });
    const o = await crs.waitForCondition('Instance', a, 'web', 'Ready', { observedGeneration: 2, timeoutMs: 90_000 });
    const pods = await until('the old Pod gone', async () => {
      const list = (await podsIn(a)).filter((p) => p.metadata?.labels?.['berth.dev/name'] === 'web');
      return list.length === 1 && list[0]!.metadata?.uid !== old!.metadata?.uid ? list : undefined;
    }, 60_000, 200);
    expect(o.status?.containerId).toBe(`${a}/${pods[0]!.metadata!.name}`);
    expect(pods[0]!.spec?.containers[0]?.env).toEqual([{ name: 'MODE', value: 'b' }]);
    // The other namespace's Pod was not disturbed.
    expect((await podsIn(b)).filter(running)).toHaveLength(1);
  });

  it('a pool of Pods fills, a claim binds, berth exec runs in the member', async () => {
    await crs.create({
      apiVersion: 'berth.dev/v1alpha1',
      kind: 'InstancePool',
      metadata: { name: 'runners', namespace: a },
      spec: { minReady: 2, maxSize: 3, template: { image: TEST_IMAGE, imagePullPolicy: 'Never', command: SLEEP, stopGracePeriodSeconds: 1, healthCheck: { exec: { command: ['true'] }, periodSeconds: 2 } } },
    });
    const pool = await crs.waitForCondition('InstancePool', a, 'runners', 'Ready', { timeoutMs: 120_000 });
    expect(pool.status?.ready).toBe(2);
    expect((await podsIn(a)).filter((p) => p.metadata?.labels?.['berth.dev/name'] === 'runners' && running(p))).toHaveLength(2);
    const server = procs[a]!.server;
    const claim = await runCli(['claim', 'runners', '-n', a, '--ttl', '120s', '-o', 'json'], { BERTH_SERVER: server });
    expect(claim.code, claim.stderr).toBe(0);
    const bound = JSON.parse(claim.stdout) as { metadata: { name: string }; status: { phase: string; instance: string } };
    expect(bound.status.phase).toBe('Bound');
    // The claim is a real custom resource in the apiserver (issue 14, item 7: it lived only in the controller).
    const stored = await crs.get('InstanceClaim', a, bound.metadata.name);
    expect(stored?.status).toMatchObject({ phase: 'Bound', instance: bound.status.instance });
    // Measured from the request to the ms (annotation berth.dev/requested-at), not from a whole-second creationTimestamp.
    expect(stored?.metadata.annotations?.['berth.dev/requested-at']).toMatch(/^\d{13}$/);
    expect((stored?.status as { waitDurationMs?: number }).waitDurationMs).toBeLessThan(1000);
    const exec = await runCli(['exec', bound.status.instance, '-n', a, '--', 'sh', '-c', 'id -u; hostname'], { BERTH_SERVER: server });
    expect(exec.code, exec.stderr).toBe(0);
    const [uid, host] = exec.stdout.trim().split('\n');
    expect(uid).toBe('65534'); // the default non-root user
    const member = (await podsIn(a)).find((p) => p.metadata?.name === host);
    expect(member?.metadata?.labels).toMatchObject({ 'berth.dev/name': 'runners' });
    const released = await runCli(['release', bound.metadata.name, '-n', a], { BERTH_SERVER: server });
    expect(released.code, released.stderr).toBe(0);
    await until('the claim gone from the apiserver', async () => ((await crs.get('InstanceClaim', a, bound.metadata.name)) ? undefined : true), 30_000, 200);
  });

  it('berth apply under --source kubernetes creates the custom resource in the apiserver', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-e2e-apply-'));
    const file = join(dir, 'api.yaml');
    await writeFile(file, JSON.stringify(instance('from-api', a)));
    const applied = await runCli(['apply', '-f', file], { BERTH_SERVER: procs[a]!.server });
    await rm(dir, { recursive: true, force: true });
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toMatch(/created/);
    const o = await crs.waitForCondition('Instance', a, 'from-api', 'Ready', { timeoutMs: 90_000 });
    expect(o.metadata.uid).toBeTruthy();
    const bad = await runCli(['apply', '-f', '-'], { BERTH_SERVER: procs[a]!.server });
    expect(bad.code).not.toBe(0);
    await crs.delete('Instance', a, 'from-api');
  });

  it('deleting the resources deletes their Pods before the resources disappear', async () => {
    await crs.delete('InstancePool', a, 'runners');
    await crs.delete('Instance', a, 'web');
    await until('a empty', async () => ((await crs.get('Instance', a, 'web')) || (await crs.get('InstancePool', a, 'runners')) ? undefined : true), 90_000, 200);
    await until('the Pods of a gone', async () => ((await podsIn(a)).length === 0 ? true : undefined), 60_000, 200);
    expect((await podsIn(b)).filter(running)).toHaveLength(1);
  });
});
