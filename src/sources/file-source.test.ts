import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ResourceStore, type StoreEvent } from '../controller/resource-store.js';
import { DEFAULT_POLICY } from '../spec/policy.js';
import { FileSource } from './file-source.js';

const spec = (name: string): string => `apiVersion: berth.dev/v1alpha1\nkind: Instance\nmetadata:\n  name: ${name}\nspec:\n  image: x\n`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('FileSource', () => {
  let dir: string;
  let source: FileSource | undefined;
  afterEach(async () => {
    source?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function start(): Promise<{ store: ResourceStore; events: StoreEvent[] }> {
    const store = new ResourceStore();
    const events: StoreEvent[] = [];
    store.subscribe((e) => events.push(e));
    source = new FileSource({ store, dirs: [dir], policy: DEFAULT_POLICY, onProblem: () => undefined, debounceMs: 20, deleteConfirmMs: 200 });
    await source.start();
    return { store, events };
  }

  it('a file caught half-written (empty) does not delete its resources', async () => {
    dir = await mkdtemp(join(tmpdir(), 'fs-'));
    await writeFile(join(dir, 'a.yaml'), spec('web'));
    const { store, events } = await start();
    await writeFile(join(dir, 'a.yaml'), '');
    await source!.reload();
    await writeFile(join(dir, 'a.yaml'), spec('web'));
    await source!.reload();
    await sleep(400);
    expect(store.get({ kind: 'Instance', namespace: 'default', name: 'web' })).toBeDefined();
    expect(events.filter((e) => e.type === 'DELETED')).toEqual([]);
  });

  it('a directory that vanishes, or a broken file, keeps every resource and says so; healed, it prunes again', async () => {
    dir = await mkdtemp(join(tmpdir(), 'fs-'));
    await writeFile(join(dir, 'a.yaml'), spec('web'));
    await writeFile(join(dir, 'b.yaml'), spec('api'));
    const { store, events } = await start();
    expect(source!.mayPrune()).toBe(true);
    const aside = `${dir}-aside`;
    await rename(dir, aside);
    for (let i = 0; i < 3; i++) await source!.reload();
    await sleep(300);
    await source!.reload();
    expect([...source!.degradedDirs().values()]).toEqual([expect.stringMatching(/no such file or directory/)]);
    expect(source!.mayPrune()).toBe(false);
    expect(events.filter((e) => e.type === 'DELETED')).toEqual([]);
    await rename(aside, dir);
    // A typo in one file: nothing is deleted, not even what another file stopped declaring.
    await writeFile(join(dir, 'a.yaml'), spec('web').replace('image', 'imgae'));
    await rm(join(dir, 'b.yaml'));
    await source!.reload();
    await sleep(300);
    await source!.reload();
    expect(source!.mayPrune()).toBe(false);
    expect(store.get({ kind: 'Instance', namespace: 'default', name: 'api' })).toBeDefined();
    await writeFile(join(dir, 'a.yaml'), spec('web'));
    await source!.reload();
    await sleep(300);
    await source!.reload();
    expect(source!.mayPrune()).toBe(true);
    expect(store.get({ kind: 'Instance', namespace: 'default', name: 'api' })).toBeUndefined();
    expect(store.get({ kind: 'Instance', namespace: 'default', name: 'web' })).toBeDefined();
  });

  it('a deleted file deletes its resources once a second reload confirms it', async () => {
    dir = await mkdtemp(join(tmpdir(), 'fs-'));
    await writeFile(join(dir, 'a.yaml'), spec('web'));
    const { store } = await start();
    await rm(join(dir, 'a.yaml'));
    await source!.reload();
    expect(store.get({ kind: 'Instance', namespace: 'default', name: 'web' })).toBeDefined();
    await sleep(500);
    expect(store.get({ kind: 'Instance', namespace: 'default', name: 'web' })).toBeUndefined();
  });
});
