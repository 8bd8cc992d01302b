import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
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
    const a = new ClaimState(dir, () => ({ 'InstanceClaim/default/c1': claimObject }));
    a.claims.set('InstanceClaim/default/c1', { pool: 'InstancePool/default/p', phase: 'Bound', createdAt: 1, member: 'm1', instance: 'p-m1' });
    a.setMember('InstancePool/default/p', 'm1', { uses: 0, claim: 'InstanceClaim/default/c1' });
    await a.commit();
    const b = new ClaimState(dir);
    expect(await b.load(() => undefined)).toEqual([claimObject]);
    expect(b.claims.get('InstanceClaim/default/c1')?.member).toBe('m1');
    expect(b.member('InstancePool/default/p', 'm1').claim).toBe('InstanceClaim/default/c1');
  });

  it('a first start makes the two-slot file, empty, so that the first claim only overwrites a slot', async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-claims-'));
    const errors: string[] = [];
    expect(await new ClaimState(dir).load((m) => errors.push(m))).toEqual([]);
    expect(errors).toEqual([]);
    const file = join(dir, 'claims.state');
    expect(JSON.parse((await readStateFile(file))!)).toEqual({ claims: {}, members: {}, objects: {} });
    const inode = (await stat(file)).ino;
    const a = new ClaimState(dir);
    await a.load(() => undefined);
    a.claims.set('InstanceClaim/default/c1', { pool: 'InstancePool/default/p', phase: 'Pending', createdAt: 1 });
    await a.commit();
    expect((await stat(file)).ino).toBe(inode);
    expect(JSON.parse((await readStateFile(file))!).claims['InstanceClaim/default/c1'].phase).toBe('Pending');
  });

  it('takes over a claims.json left by an earlier version: loaded, written to claims.state, then removed', async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-claims-'));
    const legacy = { claims: { 'InstanceClaim/default/c1': { pool: 'InstancePool/default/p', phase: 'Bound', createdAt: 1, member: 'm1', instance: 'p-m1' } }, members: { 'InstancePool/default/p#m1': { uses: 2, claim: 'InstanceClaim/default/c1' } }, objects: { 'InstanceClaim/default/c1': claimObject } };
    await writeFile(join(dir, 'claims.json'), JSON.stringify(legacy));
    const errors: string[] = [];
    const a = new ClaimState(dir);
    expect(await a.load((m) => errors.push(m))).toEqual([claimObject]);
    expect(errors).toEqual([]);
    expect(await readdir(dir)).toEqual(['claims.state']);
    const b = new ClaimState(dir);
    expect(await b.load(() => undefined)).toEqual([claimObject]);
    expect(b.member('InstancePool/default/p', 'm1')).toEqual({ uses: 2, claim: 'InstanceClaim/default/c1' });
  });

  it('an unreadable file is reported with its name, and claims start empty', async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-claims-'));
    await writeFile(join(dir, 'claims.state'), '{not json');
    const errors: string[] = [];
    expect(await new ClaimState(dir).load((m) => errors.push(m))).toEqual([]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(join(dir, 'claims.state'));
  });
});
