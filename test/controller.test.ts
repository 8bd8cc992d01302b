// The controller on the real engine: converge, drift, restarts, crash loops,
// stop, prune, orphans, and never touching what is not ours.
import { rm } from 'node:fs/promises';
import type Dockerode from 'dockerode';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Manager } from '../src/manager/manager.js';
import { noEngine } from './support/provided.js';
import { eventually } from './support/runtime-contract.js';
import { TEST_IMAGE, testDocker } from './support/engine.js';
import { instanceYaml, isReady, managedContainers, removeDirs, startManager, statusOf, testDirs, writeSpec, type TestDirs } from './support/controller.js';
import { DockerRuntime } from '../src/runtime/docker/docker-runtime.js';
import { ownerLabels } from '../src/reconcile/desired.js';
import { configHash } from '../src/spec/hash.js';
import { effectiveTemplate } from '../src/spec/policy.js';
import { ContainerTemplateSchema } from '../src/spec/schema.js';

describe.skipIf(noEngine())('controller on the real engine', () => {
  let d: TestDirs;
  let m: Manager;
  const foreignIds: string[] = [];
  let orphanId = '';

  beforeAll(async () => {
    d = await testDirs();
    const docker = testDocker();
    // Not ours: no berth label at all, and another controller's label.
    const foreignLabels: Array<Record<string, string>> = [{}, { 'berth.dev/managed-by': `${d.controllerId}-other`, 'berth.dev/kind': 'Instance', 'berth.dev/namespace': 'default', 'berth.dev/name': 'web' }];
    for (const labels of foreignLabels) {
      const c: Dockerode.Container = await docker.createContainer({ Image: TEST_IMAGE, Cmd: ['sleep', '3600'], Labels: { ...labels, 'berth-test-foreign': d.controllerId } });
      await c.start();
      foreignIds.push(c.id);
    }
    // An orphan from a "previous run": our label, no spec.
    const t = effectiveTemplate(ContainerTemplateSchema.parse({ image: TEST_IMAGE, command: ['sh', '-c', "trap 'exit 0' TERM; sleep 3600 & wait"] }));
    const runtime = new DockerRuntime({});
    orphanId = await runtime.launch({ name: `berth-default-orphan-${d.controllerId}`, template: t, labels: ownerLabels(d.controllerId, { kind: 'Instance', namespace: 'default', name: 'orphan' }, configHash(t), Date.now()) });

    await writeSpec(d, 'web.yaml', instanceYaml('web', { env: [{ name: 'MODE', value: 'a' }] }));
    await writeSpec(d, 'api.yaml', instanceYaml('api', { healthCheck: { exec: { command: ['true'] }, periodSeconds: 1 } }));
    await writeSpec(d, 'worker.yaml', instanceYaml('worker'));
    m = await startManager(d);
  });

  afterAll(async () => {
    await m?.stop();
    const docker = testDocker();
    for (const id of foreignIds) await docker.getContainer(id).remove({ force: true }).catch(() => undefined);
    if (d) await removeDirs(d);
  });

  it('converges from nothing: every Instance Ready, one container each, the orphan removed', async () => {
    await eventually('all Ready', () => (['web', 'api', 'worker'].every((n) => isReady(statusOf(m, n))) ? true : undefined), 30_000);
    const ours = await eventually('orphan pruned', async () => {
      const list = await managedContainers(d.controllerId);
      return list.some((c) => c.id === orphanId) ? undefined : list;
    }, 30_000);
    expect(ours.map((c) => c.labels['berth.dev/name']).sort()).toEqual(['api', 'web', 'worker']);
    expect(ours.every((c) => c.state === 'running')).toBe(true);
    expect(statusOf(m, 'api')?.lastProbe?.ok).toBe(true);
    expect(statusOf(m, 'web')?.phase).toBe('Ready');
    expect(statusOf(m, 'web')?.observedGeneration).toBe(1);
  });

  it('an unchanged re-apply touches nothing', async () => {
    const before = (await managedContainers(d.controllerId)).map((c) => c.id).sort();
    const events = m.recorder.list().length;
    await writeSpec(d, 'web.yaml', instanceYaml('web', { env: [{ name: 'MODE', value: 'a' }] }));
    // The file source reload is asynchronous: give it its debounce and a reconcile.
    await new Promise((r) => setTimeout(r, 1500));
    expect((await managedContainers(d.controllerId)).map((c) => c.id).sort()).toEqual(before);
    expect(m.recorder.list().slice(events).filter((e) => e.reason === 'Created' || e.reason === 'ConfigDrift')).toEqual([]);
  });

  it('a spec edit recreates only the edited Instance, and its event names the changed fields', async () => {
    const before = new Map((await managedContainers(d.controllerId)).map((c) => [c.labels['berth.dev/name'], c.id]));
    await writeSpec(d, 'web.yaml', instanceYaml('web', { env: [{ name: 'MODE', value: 'b' }] }));
    const s = await eventually('web replaced', () => {
      const st = statusOf(m, 'web');
      return st && st.containerId !== before.get('web') && isReady(st) ? st : undefined;
    }, 30_000);
    expect(s.observedGeneration).toBe(2);
    const after = await managedContainers(d.controllerId);
    expect(after.find((c) => c.labels['berth.dev/name'] === 'api')?.id).toBe(before.get('api'));
    expect(after.find((c) => c.labels['berth.dev/name'] === 'worker')?.id).toBe(before.get('worker'));
    expect(after.filter((c) => c.labels['berth.dev/name'] === 'web')).toHaveLength(1);
    expect(after.find((c) => c.labels['berth.dev/name'] === 'web')?.name).toBe('berth-default-web');
    const drift = m.recorder.list({ name: 'web' }).find((e) => e.reason === 'ConfigDrift');
    expect(drift?.message).toContain('env');
    expect(s.lastDrift?.fields).toEqual(['env']);
  });

  it('a killed container is restarted and restartCount counts', async () => {
    const id = statusOf(m, 'worker')!.containerId!;
    await testDocker().getContainer(id).kill();
    const s = await eventually('worker restarted', () => {
      const st = statusOf(m, 'worker');
      return st && st.restartCount >= 1 && isReady(st) ? st : undefined;
    }, 20_000);
    expect(s.containerId).toBe(id);
    expect(m.recorder.list({ name: 'worker' }).some((e) => e.reason === 'Restarted')).toBe(true);
  });

  it('a crash loop surfaces as CrashLoopBackOff', async () => {
    await writeSpec(d, 'crasher.yaml', instanceYaml('crasher', { command: ['sh', '-c', 'exit 3'] }));
    const s = await eventually('CrashLoopBackOff', () => {
      const st = statusOf(m, 'crasher');
      return st?.conditions.some((c) => c.type === 'Degraded' && c.status === 'True' && c.reason === 'CrashLoopBackOff') ? st : undefined;
    }, 30_000);
    expect(s.restartCount).toBeGreaterThanOrEqual(1);
    expect(s.conditions.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'CrashLoopBackOff' });
    await rm(join(d.specDir, 'crasher.yaml'));
  });

  it('state: Stopped stops the container and keeps it', async () => {
    await writeSpec(d, 'api.yaml', instanceYaml('api', { state: 'Stopped', healthCheck: { exec: { command: ['true'] }, periodSeconds: 1 } }));
    const s = await eventually('api stopped', () => (statusOf(m, 'api')?.phase === 'Stopped' ? statusOf(m, 'api') : undefined), 20_000);
    const c = (await managedContainers(d.controllerId)).find((x) => x.id === s.containerId);
    expect(c?.state).toBe('exited');
  });

  it('deleting a spec file prunes its container', async () => {
    await rm(join(d.specDir, 'api.yaml'));
    await eventually('api pruned', async () => ((await managedContainers(d.controllerId)).some((c) => c.labels['berth.dev/name'] === 'api') ? undefined : true), 20_000);
    expect(m.store.get({ kind: 'Instance', namespace: 'default', name: 'api' })).toBeUndefined();
  });

  it('an invalid file is reported with file, line and field, and never blocks the valid ones', async () => {
    await writeSpec(d, 'bad.yaml', 'apiVersion: berth.dev/v1alpha1\nkind: Instance\nmetadata:\n  name: bad\nspec:\n  image: x\n  resources:\n    memory: 2 gigs\n');
    await writeSpec(d, 'late.yaml', instanceYaml('late'));
    await eventually('late Ready', () => (isReady(statusOf(m, 'late')) ? true : undefined), 20_000);
    const ev = m.recorder.list().find((e) => e.reason === 'InvalidSpec' && e.message.includes('bad.yaml'));
    expect(ev?.message).toMatch(/bad\.yaml:8 spec\.resources\.memory: invalid quantity "2 gigs"/);
  });

  it('an edit that breaks a valid file keeps its container on the last valid spec, and the status says why until the fix', async () => {
    const before = statusOf(m, 'web')!;
    const broken = ['apiVersion: berth.dev/v1alpha1', 'kind: Instance', 'metadata:', '  name: web', 'spec:', `  image: ${TEST_IMAGE}`, '  env: [{name: MODE, value: c}]', '  resources:', '    memory: 2 gigs', ''].join('\n');
    await writeSpec(d, 'web.yaml', broken);
    const stale = await eventually('web InvalidSpec', () => {
      const ready = statusOf(m, 'web')?.conditions.find((c) => c.type === 'Ready');
      return ready?.reason === 'InvalidSpec' ? ready : undefined;
    }, 20_000);
    expect(stale.status).toBe('False');
    expect(stale.message).toMatch(/web\.yaml:9 spec\.resources\.memory: invalid quantity "2 gigs".*; the last valid spec \(generation 2\) still runs/);
    const kept = (await managedContainers(d.controllerId)).filter((c) => c.labels['berth.dev/name'] === 'web');
    expect(kept.map((c) => [c.id, c.state])).toEqual([[before.containerId, 'running']]);
    expect(statusOf(m, 'web')).toMatchObject({ phase: 'Ready', containerId: before.containerId, observedGeneration: 2 });

    await writeSpec(d, 'web.yaml', instanceYaml('web', { env: [{ name: 'MODE', value: 'b' }] }));
    const fixed = await eventually('web Ready again', () => (isReady(statusOf(m, 'web')) ? statusOf(m, 'web') : undefined), 20_000);
    expect(fixed.containerId).toBe(before.containerId);
    expect(fixed.conditions.some((c) => c.reason === 'InvalidSpec')).toBe(false);
  });

  it('containers not labelled by this controller survive everything', async () => {
    const docker = testDocker();
    for (const id of foreignIds) expect((await docker.getContainer(id).inspect()).State.Running).toBe(true);
  });
});
