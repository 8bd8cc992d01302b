// A spec source that cannot be read whole never prunes what it may declare
// (issue 10, item 2), on the real engine: a spec directory that vanishes under
// a running controller, and a typo and an oversized file written while it was
// down. Prune still works once the source is read whole again.
import { rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Manager } from '../src/manager/manager.js';
import { noEngine } from './support/provided.js';
import { eventually } from './support/runtime-contract.js';
import { instanceYaml, isReady, managedContainers, removeDirs, startManager, statusOf, testDirs, writeSpec, type TestDirs } from './support/controller.js';

/** Reconciles of Instances so far (every outcome). */
async function instanceReconciles(m: Manager): Promise<number> {
  const { values } = await m.metrics.reconcileTotal.get();
  return values.filter((v) => v.labels.controller === 'instance').reduce((n, v) => n + v.value, 0);
}

/** Waits until every key was reconciled at least once more after a full resync: proof the controller looked, not a sleep. */
async function settle(m: Manager, keys: number): Promise<void> {
  const before = await instanceReconciles(m);
  await m.resync();
  await eventually(`${keys} more instance reconciles`, async () => ((await instanceReconciles(m)) >= before + keys ? true : undefined), 30_000);
}

const byName = async (id: string): Promise<Map<string, { id: string; state: string }>> =>
  new Map((await managedContainers(id)).map((c) => [c.labels['berth.dev/name']!, { id: c.id, state: c.state }]));

describe.skipIf(noEngine())('prune safety: a source not read whole keeps its workloads', () => {
  let d: TestDirs;
  let m: Manager | undefined;
  let ids: Map<string, { id: string; state: string }>;

  beforeAll(async () => {
    d = await testDirs();
    for (const n of ['a', 'b', 'c']) await writeSpec(d, `${n}.yaml`, instanceYaml(n));
    m = await startManager(d);
    await eventually('a, b, c Ready', () => (['a', 'b', 'c'].every((n) => isReady(statusOf(m!, n))) ? true : undefined), 60_000);
    ids = await byName(d.controllerId);
    expect([...ids.keys()].sort()).toEqual(['a', 'b', 'c']);
  });

  afterAll(async () => {
    await m?.stop();
    if (d) await removeDirs(d);
  });

  it('a spec directory that disappears (unmounted, moved) prunes nothing and reports the source Degraded', async () => {
    const aside = `${d.specDir}.aside`;
    await rename(d.specDir, aside);
    try {
      await eventually('the source reported Degraded', () => (m!.degradedSources().some((s) => s.includes('no such file or directory')) ? true : undefined), 10_000);
      await settle(m!, 3);
      const metrics = await m!.metrics.registry.metrics();
      expect(metrics).toMatch(/berth_source_degraded\{source="files:[^"]+"\} 1/);
      expect(m!.recorder.list().some((e) => e.reason === 'SourceDegraded')).toBe(true);
      expect(await byName(d.controllerId)).toEqual(ids);
      expect(['a', 'b', 'c'].every((n) => m!.store.get({ kind: 'Instance', namespace: 'default', name: n }))).toBe(true);
    } finally {
      await rename(aside, d.specDir);
    }
    await eventually('healthy again', () => (m!.degradedSources().length === 0 ? true : undefined), 60_000);
    expect(await byName(d.controllerId)).toEqual(ids);
  });

  it('a typo and an oversized file written while the controller was down keep their containers on restart', async () => {
    await m!.stop();
    m = undefined;
    await writeSpec(d, 'a.yaml', instanceYaml('a').replace('"image"', '"imagee"'));
    await writeSpec(d, 'c.yaml', instanceYaml('c') + `# ${'x'.repeat(1024 * 1024)}\n`);
    m = await startManager(d);
    expect(m.degradedSources()).toEqual([expect.stringMatching(/a\.yaml:1 spec\.image: required field is missing \(and more\)$/)]);
    // The orphans a and c were looked at (held), b reconciled.
    await settle(m, 3);
    await eventually('b Ready', () => (isReady(statusOf(m!, 'b')) ? true : undefined), 30_000);
    expect(await byName(d.controllerId)).toEqual(ids);

    // Fixed: back to the same containers, nothing recreated.
    await writeSpec(d, 'a.yaml', instanceYaml('a'));
    await writeSpec(d, 'c.yaml', instanceYaml('c'));
    await eventually('healthy again', () => (m!.degradedSources().length === 0 ? true : undefined), 60_000);
    await eventually('a, c Ready', () => (['a', 'c'].every((n) => isReady(statusOf(m!, n))) ? true : undefined), 60_000);
    expect(await byName(d.controllerId)).toEqual(ids);
  });

  it('a source read whole still prunes what it no longer declares', async () => {
    await rm(join(d.specDir, 'c.yaml'));
    await eventually('c pruned', async () => ((await byName(d.controllerId)).has('c') ? undefined : true), 60_000);
    const left = await byName(d.controllerId);
    expect(left).toEqual(new Map([...ids].filter(([n]) => n !== 'c')));
    await writeFile(join(d.specDir, 'README.md'), 'not a spec: ignored\n');
  });
});
