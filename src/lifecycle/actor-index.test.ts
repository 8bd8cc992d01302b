import { describe, expect, it } from 'vitest';
import type { ResourceKey } from '../spec/schema.js';
import { ActorIndex } from './actor-index.js';

const web: ResourceKey = { kind: 'Instance', namespace: 'default', name: 'web' };
const db: ResourceKey = { kind: 'Instance', namespace: 'default', name: 'db' };
const entry = (owner: ResourceKey, tag: string) => ({ owner, tag });

describe('ActorIndex', () => {
  it('finds actors by owner and by container id, and forgets them on delete', () => {
    const index = new ActorIndex<ReturnType<typeof entry>>();
    index.add('a1', entry(web, 'web-1'), 'c1');
    index.add('a2', entry(web, 'web-2'));
    index.add('a3', entry(db, 'db-1'), 'c3');
    expect([...index.ofOwner(web)].map(([id]) => id)).toEqual(['a1', 'a2']);
    expect(index.byContainerId('c1')?.tag).toBe('web-1');
    expect(index.byContainerId('c2')).toBeUndefined();
    index.setContainer('a2', 'c2');
    expect(index.byContainerId('c2')?.tag).toBe('web-2');
    expect(index.delete('a1')).toBe(true);
    expect(index.delete('a1')).toBe(false);
    expect(index.byContainerId('c1')).toBeUndefined();
    expect([...index.ofOwner(web)].map(([id]) => id)).toEqual(['a2']);
    expect(index.size).toBe(2);
  });

  it('keeps the newest actor of a container id when an older one goes', () => {
    const index = new ActorIndex<ReturnType<typeof entry>>();
    index.add('old', entry(web, 'old'), 'c1');
    index.add('new', entry(web, 'new'), 'c1');
    index.delete('old');
    expect(index.byContainerId('c1')?.tag).toBe('new');
  });

  it('allows deleting while iterating an owner, and an owner with none left has none', () => {
    const index = new ActorIndex<ReturnType<typeof entry>>();
    index.add('a1', entry(web, '1'));
    index.add('a2', entry(web, '2'));
    for (const [id] of index.ofOwner(web)) index.delete(id);
    expect([...index.ofOwner(web)]).toEqual([]);
    expect(index.size).toBe(0);
  });
});
