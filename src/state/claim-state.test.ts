import fc from 'fast-check';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ClaimState } from './claim-state.js';
import { readStateFile } from './state-slots.js';

let dir = '';
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const claimObject = { apiVersion: 'berth.dev/v1alpha1', kind: 'InstanceClaim', metadata: { name: 'c1', namespace: 'default' }, spec: { poolRef: { name: 'p' } } };

describe('ClaimState on disk', () => {
  it('a commit is what the next start loads: records and the API-applied claim objects', async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-claims-'));
    const a = new ClaimState(dir, { all: () => [['InstanceClaim/default/c1', JSON.stringify(claimObject)]], get: () => JSON.stringify(claimObject) });
    a.setClaim('InstanceClaim/default/c1', { pool: 'InstancePool/default/p', phase: 'Bound', createdAt: 1, member: 'm1', instance: 'p-m1' });
    a.setMember('InstancePool/default/p', 'm1', { uses: 0, claim: 'InstanceClaim/default/c1' });
    a.appliedChanging('InstanceClaim/default/c1');
    await a.commit();
    const b = new ClaimState(dir);
    expect(await b.load(() => undefined)).toEqual([claimObject]);
    expect(b.claims.get('InstanceClaim/default/c1')?.member).toBe('m1');
    expect(b.member('InstancePool/default/p', 'm1').claim).toBe('InstanceClaim/default/c1');
  });

  it('a first start makes the two-slot file, empty, and the journal, so that the first claim only overwrites preallocated space', async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-claims-'));
    const errors: string[] = [];
    expect(await new ClaimState(dir).load((m) => errors.push(m))).toEqual([]);
    expect(errors).toEqual([]);
    const file = join(dir, 'claims.state');
    expect(JSON.parse((await readStateFile(file))!)).toEqual({ epoch: expect.any(Number), claims: {}, members: {}, objects: {} });
    const journal = join(dir, 'claims.journal');
    const before = [(await stat(file)).ino, (await stat(journal)).ino, (await stat(journal)).size];
    const a = new ClaimState(dir);
    await a.load(() => undefined);
    a.setClaim('InstanceClaim/default/c1', { pool: 'InstancePool/default/p', phase: 'Pending', createdAt: 1 });
    await a.commit();
    // Written into the preallocated journal: no new inode, no new size.
    expect([(await stat(file)).ino, (await stat(journal)).ino, (await stat(journal)).size]).toEqual(before);
    const b = new ClaimState(dir);
    await b.load(() => undefined);
    expect(b.claims.get('InstanceClaim/default/c1')?.phase).toBe('Pending');
  });

  it('takes over a claims.json left by an earlier version: loaded, written to claims.state, then removed', async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-claims-'));
    const legacy = { claims: { 'InstanceClaim/default/c1': { pool: 'InstancePool/default/p', phase: 'Bound', createdAt: 1, member: 'm1', instance: 'p-m1' } }, members: { 'InstancePool/default/p#m1': { uses: 2, claim: 'InstanceClaim/default/c1' } }, objects: { 'InstanceClaim/default/c1': claimObject } };
    await writeFile(join(dir, 'claims.json'), JSON.stringify(legacy));
    const errors: string[] = [];
    const a = new ClaimState(dir);
    expect(await a.load((m) => errors.push(m))).toEqual([claimObject]);
    expect(errors).toEqual([]);
    expect((await readdir(dir)).sort()).toEqual(['claims.journal', 'claims.state']);
    const b = new ClaimState(dir);
    expect(await b.load(() => undefined)).toEqual([claimObject]);
    expect(b.member('InstancePool/default/p', 'm1')).toEqual({ uses: 2, claim: 'InstanceClaim/default/c1' });
  });

  it('each commit writes the records as they are now: a replaced record is written anew, a frozen one cannot change unseen', async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-claims-'));
    const a = new ClaimState(dir);
    await a.load(() => undefined);
    for (let i = 0; i < 3; i++) a.setClaim(`InstanceClaim/default/c${i}`, { pool: 'InstancePool/default/p', phase: 'Pending', createdAt: i });
    a.setMember('InstancePool/default/p', 'm1', { uses: 0 });
    await a.commit();
    const rec = a.claims.get('InstanceClaim/default/c1')!;
    expect(() => Object.assign(rec, { phase: 'Bound' })).toThrow(TypeError);
    expect(() => Object.assign(a.member('InstancePool/default/p', 'm1'), { uses: 5 })).toThrow(TypeError);
    a.setClaim('InstanceClaim/default/c1', { ...rec, phase: 'Bound', member: 'm1', instance: 'p-m1' });
    a.setMember('InstancePool/default/p', 'm1', { uses: 1, claim: 'InstanceClaim/default/c1' });
    a.deleteClaim('InstanceClaim/default/c2');
    await a.commit();
    const b = new ClaimState(dir);
    await b.load(() => undefined);
    expect(Object.fromEntries(b.claims)).toEqual({
      'InstanceClaim/default/c0': { pool: 'InstancePool/default/p', phase: 'Pending', createdAt: 0 },
      'InstanceClaim/default/c1': { pool: 'InstancePool/default/p', phase: 'Bound', createdAt: 1, member: 'm1', instance: 'p-m1' },
    });
    expect(b.member('InstancePool/default/p', 'm1')).toEqual({ uses: 1, claim: 'InstanceClaim/default/c1' });
  });

  it('a full journal becomes a new snapshot; every start after sees the state as last committed', async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-claims-'));
    const objects = new Map<string, string>();
    const a = new ClaimState(dir, { all: () => objects, get: (id) => objects.get(id) }, 1024);
    await a.load(() => undefined);
    const model = new Map<string, string>();
    for (let i = 0; i < 60; i++) {
      const id = `InstanceClaim/default/c${i % 7}`;
      if (i % 5 === 4) {
        a.deleteClaim(id);
        objects.delete(id);
        model.delete(id);
      } else {
        const phase = i % 2 ? 'Bound' : 'Pending';
        a.setClaim(id, { pool: 'InstancePool/default/p', phase, createdAt: i });
        objects.set(id, JSON.stringify({ ...claimObject, metadata: { name: `c${i % 7}`, namespace: 'default' } }));
        model.set(id, phase);
      }
      a.setMember('InstancePool/default/p', 'm1', { uses: i });
      a.appliedChanging(id);
      await a.commit();
      if (i % 13 === 0 || i === 59) {
        const b = new ClaimState(dir);
        const loaded = await b.load(() => undefined);
        expect(new Map([...b.claims].map(([k, r]) => [k, r.phase]))).toEqual(model);
        expect(loaded).toHaveLength(model.size);
        expect(b.member('InstancePool/default/p', 'm1').uses).toBe(i);
      }
    }
    // 60 commits of ~200 bytes do not fit in 1 KiB: snapshots were made on the way.
    expect(JSON.parse((await readStateFile(join(dir, 'claims.state')))!).epoch).toBeGreaterThan(3);
  });

  it('a torn last change is not applied; the commit before it stands', async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-claims-'));
    const a = new ClaimState(dir);
    await a.load(() => undefined);
    a.setClaim('InstanceClaim/default/c1', { pool: 'InstancePool/default/p', phase: 'Pending', createdAt: 1 });
    await a.commit();
    a.setClaim('InstanceClaim/default/c1', { pool: 'InstancePool/default/p', phase: 'Bound', createdAt: 1, member: 'zz-torn', instance: 'p-zz-torn' });
    await a.commit();
    const file = join(dir, 'claims.journal');
    const bytes = await readFile(file);
    bytes[bytes.indexOf('zz-torn')] = 'Z'.charCodeAt(0);
    await writeFile(file, bytes);
    const b = new ClaimState(dir);
    await b.load(() => undefined);
    expect(b.claims.get('InstanceClaim/default/c1')?.phase).toBe('Pending');
  });

  it('a snapshot made anew (claims.state removed) never takes the frames an old journal still holds', async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-claims-'));
    const a = new ClaimState(dir);
    await a.load(() => undefined);
    a.setClaim('InstanceClaim/default/old', { pool: 'InstancePool/default/p', phase: 'Pending', createdAt: 1 });
    await a.commit();
    await rm(join(dir, 'claims.state'));
    const b = new ClaimState(dir);
    await b.load(() => undefined);
    expect(b.claims.size).toBe(0);
    b.setClaim('InstanceClaim/default/new', { pool: 'InstancePool/default/p', phase: 'Pending', createdAt: 2 });
    await b.commit();
    const c = new ClaimState(dir);
    await c.load(() => undefined);
    expect([...c.claims.keys()]).toEqual(['InstanceClaim/default/new']);
  });

  it('an unreadable file is reported with its name, and claims start empty', async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-claims-'));
    await writeFile(join(dir, 'claims.state'), '{not json');
    const errors: string[] = [];
    expect(await new ClaimState(dir).load((m) => errors.push(m))).toEqual([]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(join(dir, 'claims.state'));
  });

  it('after an unreadable snapshot the next commit writes a whole new one (not a change to a base no one can read)', async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-claims-'));
    await writeFile(join(dir, 'claims.state'), '{not json');
    const a = new ClaimState(dir);
    await a.load(() => undefined);
    a.setClaim('InstanceClaim/default/c1', { pool: 'InstancePool/default/p', phase: 'Pending', createdAt: 1 });
    await a.commit();
    const errors: string[] = [];
    const b = new ClaimState(dir);
    await b.load((m) => errors.push(m));
    expect(errors).toEqual([]);
    expect(b.claims.get('InstanceClaim/default/c1')?.phase).toBe('Pending');
  });
});

describe('ClaimState pending counts', () => {
  it('each pool counts its Pending claims as a walk of its records would, through any sequence of sets and deletes', () => {
    const pools = ['InstancePool/d/p', 'InstancePool/d/q'];
    const op = fc.record({
      id: fc.constantFrom('c1', 'c2', 'c3', 'c4'),
      pool: fc.constantFrom(...pools),
      phase: fc.constantFrom('Pending', 'Bound', 'Failed', 'Released', 'Expired' as const),
      remove: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const s = new ClaimState(undefined);
        for (const o of ops) {
          if (o.remove) s.deleteClaim(o.id);
          else s.setClaim(o.id, { pool: o.pool, phase: o.phase, createdAt: 1 });
        }
        for (const p of pools) expect(s.pendingOf(p)).toBe([...s.claims.values()].filter((r) => r.pool === p && r.phase === 'Pending').length);
      }),
    );
  });
});

describe('ClaimState.rebuildFrom (Kubernetes mode: the claims\' statuses are the record)', () => {
  const pool = 'InstancePool/ns/p';
  const bound = (member: string) => ({ phase: 'Bound', instance: `p-${member}`, containerId: `cid-${member}`, boundAt: '2026-01-01T00:00:00Z' });

  it('a Bound status holds its member; a status another manager changed is no record: the claim fails and its pool is untrusted once', () => {
    const s = new ClaimState(undefined);
    s.rebuildFrom([
      { id: 'InstanceClaim/ns/c1', pool, createdAt: 1, status: bound('a') },
      { id: 'InstanceClaim/ns/c2', pool, createdAt: 2, status: bound('a'), editedBy: 'kubectl-patch' },
      { id: 'InstanceClaim/ns/c3', pool: 'InstancePool/ns/q', createdAt: 3, status: bound('b') },
    ]);
    expect(s.claims.get('InstanceClaim/ns/c1')).toMatchObject({ phase: 'Bound', member: 'a' });
    expect(s.member(pool, 'a').claim).toBe('InstanceClaim/ns/c1');
    const edited = s.claims.get('InstanceClaim/ns/c2');
    expect(edited).toMatchObject({ phase: 'Failed', reason: 'BindingUnknown' });
    expect(edited?.member).toBeUndefined();
    expect(edited?.message).toContain('kubectl-patch');
    expect(s.takeUntrusted(pool)).toBe(true);
    expect(s.takeUntrusted(pool)).toBe(false);
    expect(s.takeUntrusted('InstancePool/ns/q')).toBe(false);
  });
});
