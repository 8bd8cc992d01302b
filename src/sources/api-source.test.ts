import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ResourceStore } from '../controller/resource-store.js';
import { ApiSource } from './api-source.js';
import { InstanceSchema } from '../spec/schema.js';

const web = { apiVersion: 'berth.dev/v1alpha1', kind: 'Instance', metadata: { name: 'web', namespace: 'default' }, spec: { image: 'x' } };

describe('ApiSource: a state file that cannot be read whole is Degraded (nothing it may hold is pruned)', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-applied-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it.each([
    ['not JSON', '{"kind": "Inst', /not valid JSON/],
    ['not a list', '{"kind": "Instance"}', /expected a JSON list/],
    ['an entry that no longer validates', JSON.stringify([web, { ...web, metadata: { name: 'bad' }, spec: { image: 'x', bogus: 1 } }]), /entry 1 \(Instance\) no longer validates/],
  ])('%s', async (_, text, reason) => {
    await writeFile(join(dir, 'applied.json'), text);
    const source = new ApiSource(new ResourceStore(), dir);
    const problems: string[] = [];
    await source.load((m) => problems.push(m));
    expect(source.degraded).toMatch(reason);
    expect(problems[0]).toMatch(reason);
    expect(problems.join('\n')).toMatch(/copied to .*applied\.json\.unreadable-\d+/);
    expect((await readdir(dir)).filter((f) => f.startsWith('applied.json.unreadable-'))).toHaveLength(1);
  });

  it('a good file, or none, is not Degraded', async () => {
    const none = new ApiSource(new ResourceStore(), dir);
    await none.load(() => undefined);
    expect(none.degraded).toBeUndefined();
    await writeFile(join(dir, 'applied.json'), JSON.stringify([web]));
    const good = new ApiSource(new ResourceStore(), dir);
    expect(await good.load(() => undefined)).toBe(1);
    expect(good.degraded).toBeUndefined();
  });
});

describe('ApiSource: a restart does not make an applied resource a new object', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-applied-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('keeps uid, generation and creationTimestamp', async () => {
    const key = { kind: 'Instance' as const, namespace: 'default', name: 'web' };
    const before = new ResourceStore({ now: () => Date.parse('2024-05-06T07:08:09Z') });
    const first = new ApiSource(before, dir);
    await first.apply(InstanceSchema.parse(web));
    await first.apply(InstanceSchema.parse({ ...web, spec: { image: 'y' } }));
    const was = before.get(key)!.object.metadata;
    expect(was.generation).toBe(2);

    const after = new ResourceStore({ now: () => Date.parse('2025-01-01T00:00:00Z') });
    expect(await new ApiSource(after, dir).load(() => undefined)).toBe(1);
    expect(after.get(key)!.object.metadata).toMatchObject({ uid: was.uid, generation: 2, creationTimestamp: '2024-05-06T07:08:09.000Z' });
  });
});
