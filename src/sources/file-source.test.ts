import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ResourceStore, type StoreEvent } from '../controller/resource-store.js';
import { FakeClock } from '../time/clock.js';
import { DEFAULT_POLICY } from '../spec/policy.js';
import { FileSource } from './file-source.js';
import { keyString, type ResourceKey } from '../spec/schema.js';

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

  it('takes a resource\'s creationTimestamp from what it kept before a restart, and forgets it when the file goes', async () => {
    dir = await mkdtemp(join(tmpdir(), 'fs-'));
    await writeFile(join(dir, 'a.yaml'), spec('web'));
    const kept = new Map<string, string>([['Instance/default/web', '2024-05-06T07:08:09.000Z']]);
    const creationTimes = { get: (k: ResourceKey) => kept.get(keyString(k)), set: (k: ResourceKey, t: string) => void kept.set(keyString(k), t), forget: (k: ResourceKey) => void kept.delete(keyString(k)) };
    const store = new ResourceStore({ now: () => Date.parse('2025-01-01T00:00:00Z') });
    source = new FileSource({ store, dirs: [dir], policy: DEFAULT_POLICY, onProblem: () => undefined, creationTimes, debounceMs: 20, deleteConfirmMs: 0 });
    await source.start();
    expect(store.get({ kind: 'Instance', namespace: 'default', name: 'web' })?.object.metadata.creationTimestamp).toBe('2024-05-06T07:08:09.000Z');
    await writeFile(join(dir, 'b.yaml'), spec('api'));
    await source.reload();
    expect(kept.get('Instance/default/api')).toBe('2025-01-01T00:00:00.000Z');
    await rm(join(dir, 'a.yaml'));
    await source.reload();
    await source.reload();
    expect(store.get({ kind: 'Instance', namespace: 'default', name: 'web' })).toBeUndefined();
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
