import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ResourceStore, type StoreEvent } from '../controller/resource-store.js';
import { FakeClock } from '../time/clock.js';
import { DEFAULT_POLICY } from '../spec/policy.js';
import { FileSource } from './file-source.js';
import { keyString, type ResourceKey } from '../spec/schema.js';
import type { KeptIdentity } from '../state/restart-memory-store.js';

const spec = (name: string): string => `apiVersion: berth.dev/v1alpha1\nkind: Instance\nmetadata:\n  name: ${name}\nspec:\n  image: x\n`;

describe('FileSource', () => {
  let dir: string;
  let source: FileSource | undefined;
  let clock: FakeClock;
  /** onStale calls: [name, message or undefined]. */
  let stale: Array<[string, string | undefined]>;
  /** Resolves when the next reload (a timer's, or an explicit one) has reached the store. */
  let nextReload: () => Promise<void>;
  afterEach(async () => {
    source?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function start(): Promise<{ store: ResourceStore; events: StoreEvent[] }> {
    const store = new ResourceStore();
    const events: StoreEvent[] = [];
    store.subscribe((e) => events.push(e));
    clock = new FakeClock(Date.parse('2025-01-01T00:00:00Z'));
    const waiting: Array<() => void> = [];
    nextReload = () => new Promise((resolve) => waiting.push(resolve));
    const onReload = (): void => {
      for (const resolve of waiting.splice(0)) resolve();
    };
    stale = [];
    source = new FileSource({ store, dirs: [dir], policy: DEFAULT_POLICY, onProblem: () => undefined, onReload, onStale: (key, message) => stale.push([key.name, message]), debounceMs: 20, deleteConfirmMs: 200, clock });
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
    // The empty read armed a confirmation; it reloads once the delete delay has passed and finds the file whole.
    const confirmed = nextReload();
    await clock.advanceAsync(400);
    await confirmed;
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
    await clock.advanceAsync(300); // past the delete delay: a resource still missing now would be deleted
    await source!.reload();
    expect([...source!.degradedDirs().values()]).toEqual([expect.stringMatching(/no such file or directory/)]);
    expect(source!.mayPrune()).toBe(false);
    expect(events.filter((e) => e.type === 'DELETED')).toEqual([]);
    await rename(aside, dir);
    // A typo in one file: nothing is deleted, not even what another file stopped declaring.
    await writeFile(join(dir, 'a.yaml'), spec('web').replace('image', 'imgae'));
    await rm(join(dir, 'b.yaml'));
    await source!.reload();
    await clock.advanceAsync(300);
    await source!.reload();
    expect(source!.mayPrune()).toBe(false);
    expect(store.get({ kind: 'Instance', namespace: 'default', name: 'api' })).toBeDefined();
    await writeFile(join(dir, 'a.yaml'), spec('web'));
    await source!.reload();
    await clock.advanceAsync(300);
    await source!.reload();
    expect(source!.mayPrune()).toBe(true);
    expect(store.get({ kind: 'Instance', namespace: 'default', name: 'api' })).toBeUndefined();
    expect(store.get({ kind: 'Instance', namespace: 'default', name: 'web' })).toBeDefined();
  });

  it('names each resource kept from a file that now fails, with that file\'s error, once; the fix or the file\'s removal clears it', async () => {
    dir = await mkdtemp(join(tmpdir(), 'fs-'));
    await writeFile(join(dir, 'a.yaml'), `${spec('web')}---\n${spec('api')}`);
    await writeFile(join(dir, 'b.yaml'), spec('worker'));
    await start();
    expect(stale).toEqual([]);
    // The second document turns invalid: the first still loads and is current; only api is kept from before.
    await writeFile(join(dir, 'a.yaml'), `${spec('web')}---\n${spec('api')}  resources:\n    memory: 2 gigs\n`);
    await source!.reload();
    expect(stale).toEqual([['api', expect.stringMatching(/a\.yaml:15 spec\.resources\.memory: invalid quantity "2 gigs"/)]]);
    await source!.reload();
    expect(stale).toHaveLength(1);
    await writeFile(join(dir, 'a.yaml'), `${spec('web')}---\n${spec('api')}`);
    await source!.reload();
    expect(stale.slice(1)).toEqual([['api', undefined]]);
    // A file that no longer parses at all keeps everything it declared; removing it clears the mark (and deletes, once confirmed).
    await writeFile(join(dir, 'b.yaml'), 'kind: [unclosed\n');
    await source!.reload();
    expect(stale.slice(2)).toEqual([['worker', expect.stringContaining('b.yaml')]]);
    await rm(join(dir, 'b.yaml'));
    await source!.reload();
    expect(stale.slice(3)).toEqual([['worker', undefined]]);
  });

  it('a second file defining a running resource takes nothing over, whichever sorts first: the resource keeps its spec and says why', async () => {
    dir = await mkdtemp(join(tmpdir(), 'fs-'));
    await writeFile(join(dir, 'pool.yaml'), spec('web'));
    const { store } = await start();
    const key: ResourceKey = { kind: 'Instance', namespace: 'default', name: 'web' };
    expect(store.get(key)?.object.metadata.generation).toBe(1);
    await writeFile(join(dir, 'aaa-dup.yaml'), spec('web').replace('image: x', 'image: y'));
    await source!.reload();
    expect([(store.get(key)?.resource.spec as { image: string }).image, store.get(key)?.object.metadata.generation]).toEqual(['x', 1]);
    expect(stale).toEqual([['web', expect.stringMatching(/pool\.yaml:4 metadata\.name: duplicate Instance "default\/web": also defined at .*aaa-dup\.yaml:1; neither is applied/)]]);
    await rm(join(dir, 'aaa-dup.yaml'));
    await source!.reload();
    expect(stale.slice(1)).toEqual([['web', undefined]]);
    expect(store.get(key)?.object.metadata.generation).toBe(1);
  });

  it('a restart keeps each resource\'s uid, creationTimestamp and generation; a spec edited meanwhile is the next generation', async () => {
    dir = await mkdtemp(join(tmpdir(), 'fs-'));
    const web = { kind: 'Instance' as const, namespace: 'default', name: 'web' };
    const api = { kind: 'Instance' as const, namespace: 'default', name: 'api' };
    await writeFile(join(dir, 'a.yaml'), spec('web'));
    const kept = new Map<string, KeptIdentity>();
    const identities = { get: (k: ResourceKey) => kept.get(keyString(k)), set: (k: ResourceKey, i: KeptIdentity) => void kept.set(keyString(k), i), forget: (k: ResourceKey) => void kept.delete(keyString(k)) };
    const run = async (at: string): Promise<{ store: ResourceStore; source: FileSource }> => {
      const store = new ResourceStore({ now: () => Date.parse(at) });
      const s = new FileSource({ store, dirs: [dir], policy: DEFAULT_POLICY, onProblem: () => undefined, identities, debounceMs: 20, deleteConfirmMs: 0 });
      await s.start();
      return { store, source: s };
    };
    const first = await run('2024-05-06T07:08:09Z');
    source = first.source;
    const before = first.store.get(web)!.object.metadata;
    expect(before.generation).toBe(1);
    await writeFile(join(dir, 'a.yaml'), spec('web').replace('image: x', 'image: y'));
    await source.reload();
    expect(first.store.get(web)!.object.metadata.generation).toBe(2);
    source.stop();

    // Same files: the same object.
    let next = await run('2025-01-01T00:00:00Z');
    source = next.source;
    expect(next.store.get(web)!.object.metadata).toMatchObject({ uid: before.uid, creationTimestamp: '2024-05-06T07:08:09.000Z', generation: 2 });
    source.stop();

    // Edited while berth was down: the same object, its next generation.
    await writeFile(join(dir, 'a.yaml'), spec('web').replace('image: x', 'image: z'));
    next = await run('2025-02-01T00:00:00Z');
    source = next.source;
    expect(next.store.get(web)!.object.metadata).toMatchObject({ uid: before.uid, creationTimestamp: '2024-05-06T07:08:09.000Z', generation: 3 });

    // A file's own uid and generation (a copy of `get -o yaml` output) are not taken: they are the server's.
    await writeFile(join(dir, 'b.yaml'), spec('api').replace('  name: api\n', `  name: api\n  uid: ${before.uid}\n  generation: 7\n`));
    await source.reload();
    expect(next.store.get(api)!.object.metadata.uid).not.toBe(before.uid);
    expect(next.store.get(api)!.object.metadata.generation).toBe(1);
    expect(kept.get('Instance/default/api')).toMatchObject({ createdAt: '2025-02-01T00:00:00.000Z', generation: 1 });

    // Dropped from the files: forgotten; declared again later, it is a new object.
    await rm(join(dir, 'a.yaml'));
    await source.reload();
    await source.reload();
    expect(next.store.get(web)).toBeUndefined();
    expect([...kept.keys()]).toEqual(['Instance/default/api']);
  });

  it('a deleted file deletes its resources once a second reload confirms it', async () => {
    dir = await mkdtemp(join(tmpdir(), 'fs-'));
    await writeFile(join(dir, 'a.yaml'), spec('web'));
    const { store } = await start();
    await rm(join(dir, 'a.yaml'));
    await source!.reload();
    expect(store.get({ kind: 'Instance', namespace: 'default', name: 'web' })).toBeDefined();
    await clock.advanceAsync(199);
    await source!.reload();
    expect(store.get({ kind: 'Instance', namespace: 'default', name: 'web' }), 'deleted before the delay').toBeDefined();
    // No explicit reload from here: the confirmation timer's own reload deletes it.
    const confirmed = nextReload();
    await clock.advanceAsync(1);
    await confirmed;
    expect(store.get({ kind: 'Instance', namespace: 'default', name: 'web' })).toBeUndefined();
  });
});
