// Kubernetes mode end to end: the CRDs of crds/ applied to an API server (the
// in-process test server, or a real cluster with BERTH_TEST_KUBECONFIG), the
// examples created as custom resources, and the controller (custom-resource
// source, Docker runtime on the real engine) converging them: status through
// /status, Ready conditions, generations, Events, the finalizer, invalid specs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noEngine, noKube } from './support/provided.js';
import { cleanupByLabel, TEST_IMAGE, uniqueControllerId } from './support/engine.js';
import { managedContainers } from './support/controller.js';
import { applyCrds, createNamespace, CustomResources, deleteNamespaces, exampleResources, startTestCluster, until, type BerthObject, type TestCluster } from './support/kube-cluster.js';
import { startKubeController, type KubeController } from './support/kube-controller.js';
import { FINALIZER } from '../src/sources/kubernetes/custom-resource-source.js';

const sleeper = (name: string, namespace: string, extra: Record<string, unknown> = {}): BerthObject => ({
  apiVersion: 'berth.dev/v1alpha1',
  kind: 'Instance',
  metadata: { name, namespace },
  spec: { image: TEST_IMAGE, command: ['sh', '-c', "trap 'exit 0' TERM; sleep 3600 & wait"], stopGracePeriodSeconds: 1, ...extra },
});

describe.skipIf(noEngine() || noKube())('Kubernetes custom resources -> the real engine', () => {
  let cluster: TestCluster;
  let crs: CustomResources;
  let controller: KubeController | undefined;
  const controllerId = uniqueControllerId();
  let examples: BerthObject[] = [];
  let ns = '';
  const namespaces: string[] = [];

  beforeAll(async () => {
    cluster = await startTestCluster();
    crs = new CustomResources(cluster.kc);
    ns = `berth-it-${cluster.runId}`;
    examples = await exampleResources(cluster.runId);
    for (const n of new Set([ns, ...examples.map((e) => e.metadata.namespace!)])) namespaces.push(n);
  });

  afterAll(async () => {
    await controller?.stop();
    if (cluster) {
      await deleteNamespaces(cluster.kc, namespaces).catch(() => undefined);
      await cluster.close();
    }
    await cleanupByLabel(controllerId);
  });

  it('applies the CRDs of crds/ and creates the example resources', async () => {
    const names = await applyCrds(cluster.kc);
    expect(names.sort()).toEqual(['instanceclaims.berth.dev', 'instancepools.berth.dev', 'instances.berth.dev']);
    for (const n of namespaces) await createNamespace(cluster.kc, n);
    for (const e of examples) {
      const created = await crs.create(e);
      expect(created.metadata.generation).toBe(1);
      expect(created.metadata.uid).toBeTruthy();
    }
    expect(examples.map((e) => `${e.kind}/${e.metadata.name}`).sort()).toEqual([
      'Instance/alice-bot',
      'Instance/bob-bot',
      'Instance/nightly-report',
      'InstancePool/ci-agents',
      'InstancePool/python-runners',
      'InstancePool/runners',
    ]);
  });

  it('converges the examples: Ready conditions (kubectl wait), status through /status, finalizers', async () => {
    controller = await startKubeController({ kc: cluster.kc, controllerId });
    const tenants = examples.find((e) => e.metadata.name === 'alice-bot')!.metadata.namespace!;
    const sandboxes = examples.find((e) => e.metadata.name === 'runners')!.metadata.namespace!;
    const jobs = examples.find((e) => e.metadata.name === 'nightly-report')!.metadata.namespace!;
    for (const name of ['alice-bot', 'bob-bot']) {
      const o = await crs.waitForCondition('Instance', tenants, name, 'Ready', { timeoutMs: 90_000 });
      expect(o.status).toMatchObject({ phase: 'Ready', observedGeneration: 1 });
      expect(o.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True', observedGeneration: 1 });
      expect(o.metadata.finalizers).toContain(FINALIZER);
    }
    for (const name of ['runners', 'python-runners']) {
      const pool = await crs.waitForCondition('InstancePool', sandboxes, name, 'Ready', { timeoutMs: 90_000 });
      expect(pool.status).toMatchObject({ ready: 2, observedGeneration: 1 });
    }
    // Run to completion: restartPolicy Never.
    const job = await until('nightly-report to finish', async () => {
      const o = await crs.get('Instance', jobs, 'nightly-report');
      return o?.status?.phase === 'Succeeded' ? o : undefined;
    }, 60_000);
    expect(job.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'Completed' });
    // What the engine runs: 2 bots, 2 + 2 pool members, the finished job.
    const containers = await managedContainers(controllerId);
    const byOwner = (n: string) => containers.filter((c) => c.labels['berth.dev/name'] === n).length;
    expect([byOwner('alice-bot'), byOwner('bob-bot'), byOwner('runners'), byOwner('python-runners'), byOwner('nightly-report')]).toEqual([1, 1, 2, 2, 1]);
  });

  it('a spec edit bumps generation; the container is replaced and status.observedGeneration follows', async () => {
    await createNamespace(cluster.kc, ns);
    await crs.create(sleeper('web', ns, { env: [{ name: 'MODE', value: 'a' }] }));
    const first = await crs.waitForCondition('Instance', ns, 'web', 'Ready');
    const before = first.status!.containerId!;
    const edited = await crs.patch('Instance', ns, 'web', { spec: { env: [{ name: 'MODE', value: 'b' }] } });
    expect(edited.metadata.generation).toBe(2);
    const after = await crs.waitForCondition('Instance', ns, 'web', 'Ready', { observedGeneration: 2 });
    expect(after.status?.containerId).not.toBe(before);
    expect(after.status?.conditions?.find((c) => c.type === 'Ready')?.observedGeneration).toBe(2);
    const mine = (await managedContainers(controllerId)).filter((c) => c.labels['berth.dev/name'] === 'web' && c.labels['berth.dev/namespace'] === ns);
    expect(mine.map((c) => c.id)).toEqual([after.status?.containerId]);
    // Events on the object (by uid), mirrored from the controller's recorder.
    const events = await until('Events for web', async () => {
      const list = await crs.events(ns, after.metadata.uid!);
      return list.some((e) => e.reason === 'ConfigDrift') ? list : undefined;
    });
    expect(events.find((e) => e.reason === 'Created')).toMatchObject({ type: 'Normal', involvedObject: { kind: 'Instance', name: 'web', uid: after.metadata.uid } });
    expect(events.find((e) => e.reason === 'ConfigDrift')?.message).toContain('env');
  });

  it('ignores status-only updates (no reconcile, no new store version)', async () => {
    const m = controller!.runner.manager;
    const key = { kind: 'Instance' as const, namespace: ns, name: 'web' };
    const before = m.store.get(key)!.object.metadata.resourceVersion;
    const generation = m.store.get(key)!.object.metadata.generation;
    const containerId = (await crs.get('Instance', ns, 'web'))!.status!.containerId;
    await crs.patchStatus('Instance', ns, 'web', { status: { usage: { pids: 1 } } });
    await crs.patch('Instance', ns, 'web', { metadata: { finalizers: [FINALIZER, 'example.com/other'] } });
    await new Promise((r) => setTimeout(r, 1000));
    expect(m.store.get(key)!.object.metadata.generation).toBe(generation);
    expect(m.store.get(key)!.object.metadata.resourceVersion).toBe(before);
    expect((await crs.get('Instance', ns, 'web'))!.status!.containerId).toBe(containerId);
    await crs.patch('Instance', ns, 'web', { metadata: { finalizers: [FINALIZER] } });
  });

  it('status is written when something a user reads changes, not on every probe (issue 14, item 8)', async () => {
    await crs.create(sleeper('probed', ns, { healthCheck: { exec: { command: ['true'] }, periodSeconds: 1 } }));
    const ready = await crs.waitForCondition('Instance', ns, 'probed', 'Ready');
    await new Promise((r) => setTimeout(r, 1500)); // settle: the last writes of the start
    const versions = new Set<string>();
    const first = (await crs.get('Instance', ns, 'probed'))!;
    versions.add(first.metadata.resourceVersion!);
    for (let i = 0; i < 12; i++) {
      await new Promise((r) => setTimeout(r, 500));
      versions.add((await crs.get('Instance', ns, 'probed'))!.metadata.resourceVersion!);
    }
    // Six probes passed in those 6 s, each with the same answer: no new resourceVersion.
    expect([...versions]).toEqual([first.metadata.resourceVersion]);
    expect((first.status as { lastProbe?: { ok: boolean } }).lastProbe).toMatchObject({ ok: true });
    expect(ready.status?.phase).toBe('Ready');
    await crs.delete('Instance', ns, 'probed');
  });

  it('an invalid resource gets a Warning Event and an InvalidSpec condition naming the field; the others carry on', async () => {
    // A bind mount this controller does not allow: policy, which the CRD cannot know (its CEL rules refuse
    // what the schema can tell alone: test/kubernetes-crd-validation.test.ts).
    const bad = await crs.create(sleeper('bad', ns, { mounts: [{ type: 'bind', source: '/etc', target: '/host-etc' }] }));
    await crs.create(sleeper('good', ns));
    const o = await crs.waitForCondition('Instance', ns, 'bad', 'Ready', { status: 'False' });
    const ready = o.status?.conditions?.find((c) => c.type === 'Ready');
    expect(ready).toMatchObject({ reason: 'InvalidSpec', observedGeneration: 1 });
    expect(ready?.message).toContain('spec.mounts[0].type');
    expect(ready?.message).toContain('bind mounts are refused');
    const warning = await until('the InvalidSpec Event', async () => (await crs.events(ns, bad.metadata.uid!)).find((e) => e.reason === 'InvalidSpec'));
    expect(warning).toMatchObject({ type: 'Warning' });
    expect(warning.message).toContain('spec.mounts[0].type');
    await crs.waitForCondition('Instance', ns, 'good', 'Ready');
    expect((await managedContainers(controllerId)).some((c) => c.labels['berth.dev/name'] === 'bad')).toBe(false);
    // Fixed: it runs.
    await crs.patch('Instance', ns, 'bad', { spec: { mounts: [] } });
    const fixed = await crs.waitForCondition('Instance', ns, 'bad', 'Ready', { observedGeneration: 2 });
    expect(fixed.status?.conditions?.some((c) => c.reason === 'InvalidSpec')).toBe(false);
  });

  it('deleting a resource removes its container before the resource disappears (finalizer berth.dev/cleanup)', async () => {
    const o = await crs.get('Instance', ns, 'good');
    expect(o?.metadata.finalizers).toEqual([FINALIZER]);
    const containerOf = async () => (await managedContainers(controllerId)).filter((c) => c.labels['berth.dev/name'] === 'good' && c.labels['berth.dev/namespace'] === ns);
    expect(await containerOf()).toHaveLength(1);
    await crs.delete('Instance', ns, 'good');
    // While the container exists, the resource exists (marked for deletion).
    const seen: string[] = [];
    await until('the resource to disappear', async () => {
      const [cr, containers] = await Promise.all([crs.get('Instance', ns, 'good'), containerOf()]);
      seen.push(`${cr ? (cr.metadata.deletionTimestamp ? 'deleting' : 'live') : 'gone'}/${containers.length}`);
      return cr ? undefined : true;
    }, 30_000, 20);
    expect(await containerOf()).toEqual([]);
    expect(seen[0]).toMatch(/^deleting\/1$/);
    expect(seen.filter((s) => s.startsWith('gone/') && s !== 'gone/0')).toEqual([]);
  });

  it('a resource deleted while the controller is down is cleaned up when it comes back', async () => {
    await crs.create(sleeper('offline', ns));
    await crs.waitForCondition('Instance', ns, 'offline', 'Ready');
    await controller!.stop();
    controller = undefined;
    await crs.delete('Instance', ns, 'offline');
    expect((await crs.get('Instance', ns, 'offline'))?.metadata.deletionTimestamp).toBeTruthy(); // held by the finalizer
    expect((await managedContainers(controllerId)).some((c) => c.labels['berth.dev/name'] === 'offline')).toBe(true);
    controller = await startKubeController({ kc: cluster.kc, controllerId });
    await until('offline gone', async () => ((await crs.get('Instance', ns, 'offline')) ? undefined : true), 30_000);
    expect((await managedContainers(controllerId)).some((c) => c.labels['berth.dev/name'] === 'offline')).toBe(false);
    // And nothing else was disturbed by the restart.
    await crs.waitForCondition('Instance', ns, 'web', 'Ready', { observedGeneration: 2 });
  });
});
