// Issue 9's failures, reproduced through the controller process and its API on
// the real engine:
// - sequential claim -> release -> pause on a Replace pool whose members'
//   PID 1 ignores SIGTERM: every claim binds (no ClaimTimeout while members
//   are warm), and a released member never holds up the pool;
// - 8 clients claim -> exec -> release on that kind of Replace pool: no claim
//   times out (84 of them did in 60 s when a release held the pool for its
//   member's grace period), none gets a member another client holds;
// - Reuse with maxSize 1: a waiting claim gets the member its predecessor
//   released, before a later claim (FIFO), well before its timeout;
// - a burst of claims beyond minReady: each binds as its member passes its probe;
// - a claim that times out leaves its pool's status: no longer counted waiting;
// - a member removed behind berth's back, or with its pool: its claim fails
//   (MemberLost) instead of staying Bound to nothing; a claim waiting on a
//   deleted pool fails (PoolNotFound).
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noEngine } from './support/provided.js';
import { eventually } from './support/runtime-contract.js';
import { heldTwice, type Hold } from './support/claim-holds.js';
import { TEST_IMAGE, testDocker } from './support/engine.js';
import { freePort, killController, managedContainers, removeDirs, spawnController, testDirs, writeSpec, type ControllerProcess, type TestDirs } from './support/controller.js';

const API = '/apis/berth.dev/v1alpha1/namespaces/default';

function poolSpec(name: string, spec: Record<string, unknown>): string {
  return JSON.stringify({
    apiVersion: 'berth.dev/v1alpha1',
    kind: 'InstancePool',
    metadata: { name },
    spec: {
      ...spec,
      template: {
        image: TEST_IMAGE,
        // PID 1 ignores SIGTERM, as many real images do: a stop waits out the whole grace period.
        command: ['sleep', '3600'],
        network: 'none',
        healthCheck: { exec: { command: ['true'] }, periodSeconds: 10 },
      },
    },
  }) + '\n';
}

interface ClaimObject {
  metadata: { name: string };
  status?: { phase?: string; instance?: string; containerId?: string; waitDurationMs?: number; conditions?: Array<{ type: string; reason: string; message: string }> };
}

async function postClaim(server: string, name: string, pool: string, wait?: string): Promise<ClaimObject> {
  const body = { apiVersion: 'berth.dev/v1alpha1', kind: 'InstanceClaim', metadata: { name }, spec: { poolRef: { name: pool } } };
  const r = await fetch(`${server}${API}/instanceclaims${wait ? `?wait=${wait}` : ''}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(30_000) });
  expect(r.status, await r.clone().text()).toBeLessThan(300);
  return (await r.json()) as ClaimObject;
}

async function getClaim(server: string, name: string): Promise<ClaimObject | undefined> {
  const r = await fetch(`${server}${API}/instanceclaims/${name}`);
  return r.ok ? ((await r.json()) as ClaimObject) : undefined;
}

async function deleteClaim(server: string, name: string): Promise<void> {
  const r = await fetch(`${server}${API}/instanceclaims/${name}`, { method: 'DELETE' });
  expect(r.status).toBeLessThan(300);
}

async function poolStatus(server: string, pool: string): Promise<{ ready?: number; terminating?: number; replicas?: number; waiting?: number; conditions?: Array<{ type: string; message: string }> } | undefined> {
  const r = await fetch(`${server}${API}/instancepools/${pool}`).catch(() => undefined);
  return r?.ok ? (((await r.json()) as { status?: { ready?: number } }).status ?? undefined) : undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(noEngine())('claims on the real engine', () => {
  let d: TestDirs;
  let proc: ControllerProcess | undefined;

  beforeAll(async () => {
    d = await testDirs();
    await writeSpec(d, 'replace.yaml', poolSpec('replace', { minReady: 3, maxSize: 6, claimTimeoutSeconds: 15 }));
    await writeSpec(d, 'load.yaml', poolSpec('load', { minReady: 3, maxSize: 6, claimTimeoutSeconds: 30 }));
    await writeSpec(d, 'reuse.yaml', poolSpec('reuse', { minReady: 1, maxSize: 1, claimTimeoutSeconds: 20, recycle: { policy: 'Reuse' } }));
    await writeSpec(d, 'burst.yaml', poolSpec('burst', { minReady: 2, maxSize: 12, claimTimeoutSeconds: 30 }));
    await writeSpec(d, 'tiny.yaml', poolSpec('tiny', { minReady: 1, maxSize: 1, claimTimeoutSeconds: 2 }));
    await writeSpec(d, 'doomed.yaml', poolSpec('doomed', { minReady: 1, maxSize: 1, claimTimeoutSeconds: 6 }));
    proc = await spawnController(d, await freePort(), ['--log-level', 'debug']);
    for (const pool of ['replace', 'load', 'reuse', 'burst', 'tiny', 'doomed']) {
      await eventually(`${pool} warm`, async () => ((await poolStatus(proc!.server, pool))?.ready ?? 0) >= ({ replace: 3, load: 3, reuse: 1, burst: 2, tiny: 1, doomed: 1 } as Record<string, number>)[pool]! || undefined, 60_000);
    }
  });

  afterAll(async () => {
    await killController(proc);
    if (d) await removeDirs(d);
  });

  it('sequential claim, release, pause on a Replace pool whose PID 1 ignores SIGTERM: every claim binds', async () => {
    const waits: number[] = [];
    for (let i = 0; i < 12; i++) {
      const c = await postClaim(proc!.server, `seq-${i}`, 'replace', '20s');
      if (c.status?.phase !== 'Bound') console.log(proc!.output().split('\n').filter((l) => !l.includes('"level":20') || l.includes('plan')).slice(-60).join('\n'));
      expect(c.status?.phase, `round ${i}: ${JSON.stringify(c.status)}; pool ${JSON.stringify(await poolStatus(proc!.server, 'replace'))}`).toBe('Bound');
      waits.push(c.status!.waitDurationMs!);
      await deleteClaim(proc!.server, `seq-${i}`);
      await sleep(1200);
    }
    // Each released member went at once (no 10 s grace): the pool is back to three warm members, none lingering.
    await eventually('pool back to 3 warm, nothing terminating', async () => {
      const s = await poolStatus(proc!.server, 'replace');
      return s?.ready === 3 && s.terminating === 0 && s.replicas === 3 ? true : undefined;
    }, 15_000);
    // A slow engine may make a claim wait for a replacement (create, start, probe): the timeout leaves room for
    // that (a loaded CI machine took over 5 s). Most claims find a warm member at once; when a pool reconcile
    // waited out each release's 10 s stop (the bug), the median wait was 3.8 s. bench/results.md measures the rest.
    expect(waits).toHaveLength(12);
    expect([...waits].sort((a, b) => a - b)[6]).toBeLessThan(2000);
  });

  it('8 clients claim -> exec -> release on a Replace pool whose PID 1 ignores SIGTERM: no claim times out, none gets a held member', async () => {
    const holds: Hold[] = [];
    const unbound: string[] = [];
    const execFailures: string[] = [];
    // Claims start for 12 s (about 50 members' worth of churn on this engine); each then runs to its end.
    const until = performance.now() + 12_000;
    const client = async (c: number): Promise<void> => {
      for (let k = 0; performance.now() < until; k++) {
        const name = `load-${c}-${k}`;
        const sentAt = performance.now();
        const got = await postClaim(proc!.server, name, 'load', '25s');
        const boundAt = performance.now();
        if (got.status?.phase !== 'Bound') {
          unbound.push(`${name}: ${JSON.stringify(got.status)}`);
        } else {
          const r = await fetch(`${proc!.server}${API}/instances/${got.status.instance}/exec`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ command: ['true'], timeoutSeconds: 20 }), signal: AbortSignal.timeout(30_000) });
          const out = r.ok ? ((await r.json()) as { exitCode?: number }) : undefined;
          if (out?.exitCode !== 0) execFailures.push(`${name}: ${r.status} ${JSON.stringify(out)}`);
          holds.push({ claim: name, containerId: got.status.containerId!, sentAt, boundAt, releaseSentAt: performance.now() });
        }
        await deleteClaim(proc!.server, name);
      }
    };
    await Promise.all(Array.from({ length: 8 }, (_, c) => client(c)));

    expect(unbound, `${holds.length} bound`).toEqual([]);
    expect(execFailures).toEqual([]);
    expect(heldTwice(holds)).toEqual([]);
    // Replace: no member served twice.
    expect(new Set(holds.map((h) => h.containerId)).size).toBe(holds.length);
    expect(holds.length).toBeGreaterThanOrEqual(8);
    // The pool settles at its minimum with nothing terminating, and the engine holds nothing else of it.
    await eventually('load pool back to 3 warm, nothing terminating', async () => {
      const s = await poolStatus(proc!.server, 'load');
      return s?.ready === 3 && s.terminating === 0 && s.replicas === 3 ? true : undefined;
    }, 30_000);
    const left = (await managedContainers(d.controllerId)).filter((c) => c.labels['berth.dev/name'] === 'load');
    expect(left.map((c) => c.state)).toEqual(['running', 'running', 'running']);
  });

  it('Reuse, maxSize 1: a waiting claim gets the released member before a later claim, long before its timeout', async () => {
    const a = await postClaim(proc!.server, 'reuse-a', 'reuse', '10s');
    expect(a.status?.phase).toBe('Bound');
    const b = await postClaim(proc!.server, 'reuse-b', 'reuse');
    expect(b.status?.phase ?? 'Pending').toBe('Pending');
    await sleep(300);
    await deleteClaim(proc!.server, 'reuse-a');
    const c = await postClaim(proc!.server, 'reuse-c', 'reuse');
    const bound = await eventually('b bound', async () => {
      const got = await getClaim(proc!.server, 'reuse-b');
      return got?.status?.phase === 'Bound' ? got : undefined;
    }, 8_000);
    expect(bound.status?.instance).toBe(a.status?.instance);
    expect((await getClaim(proc!.server, 'reuse-c'))?.status?.phase ?? 'Pending').toBe('Pending');
    void c;
    await deleteClaim(proc!.server, 'reuse-b');
    await eventually('c bound next', async () => ((await getClaim(proc!.server, 'reuse-c'))?.status?.phase === 'Bound' ? true : undefined), 8_000);
    await deleteClaim(proc!.server, 'reuse-c');
  });

  it('a burst of claims beyond minReady: all bind as members come up, none twice', async () => {
    const names = Array.from({ length: 10 }, (_, i) => `burst-${i}`);
    const claims = await Promise.all(names.map((n) => postClaim(proc!.server, n, 'burst', '25s')));
    for (const c of claims) expect(c.status?.phase, `${c.metadata.name}: ${JSON.stringify(c.status)}`).toBe('Bound');
    const ids = claims.map((c) => c.status!.containerId);
    expect(new Set(ids).size).toBe(ids.length);
    const live = new Set((await managedContainers(d.controllerId)).map((c) => c.id));
    for (const id of ids) expect(live.has(id!)).toBe(true);
    await Promise.all(names.map((n) => deleteClaim(proc!.server, n)));
  });

  it('a member removed behind berth\'s back: its claim fails MemberLost, and the pool replaces the member', async () => {
    const c = await postClaim(proc!.server, 'lost-1', 'burst', '10s');
    expect(c.status?.phase).toBe('Bound');
    await testDocker().getContainer(c.status!.containerId!).remove({ force: true });
    const failed = await eventually('the claim says its member is gone', async () => {
      const got = await getClaim(proc!.server, 'lost-1');
      return got?.status?.phase === 'Failed' ? got : undefined;
    }, 15_000);
    expect(failed.status?.conditions?.find((x) => x.type === 'Bound')).toMatchObject({ reason: 'MemberLost' });
    expect(failed.status?.containerId).toBeUndefined();
    await eventually('burst warm again', async () => ((await poolStatus(proc!.server, 'burst'))?.ready ?? 0) >= 2 || undefined, 30_000);
    await deleteClaim(proc!.server, 'lost-1');
  });

  it('a pool deleted under its claims: the Bound one fails MemberLost, the waiting one PoolNotFound', async () => {
    const held = await postClaim(proc!.server, 'doomed-held', 'doomed', '10s');
    expect(held.status?.phase).toBe('Bound');
    await postClaim(proc!.server, 'doomed-late', 'doomed');
    await rm(join(d.specDir, 'doomed.yaml'));
    let last: unknown;
    const ended = await eventually('both claims end', async () => {
      const [a, b] = await Promise.all([getClaim(proc!.server, 'doomed-held'), getClaim(proc!.server, 'doomed-late')]);
      last = [a?.status, b?.status];
      return a?.status?.phase === 'Failed' && b?.status?.phase === 'Failed' ? [a, b] : undefined;
    }, 20_000).catch((e: Error) => {
      throw new Error(`${e.message}; last seen ${JSON.stringify(last)}`, { cause: e });
    });
    expect(ended.map((x) => x.status?.conditions?.find((c) => c.type === 'Bound')?.reason)).toEqual(['MemberLost', 'PoolNotFound']);
    await deleteClaim(proc!.server, 'doomed-held');
    await deleteClaim(proc!.server, 'doomed-late');
  });

  it('a claim that times out is no longer counted waiting in its pool status', async () => {
    const held = await postClaim(proc!.server, 'tiny-held', 'tiny', '10s');
    expect(held.status?.phase).toBe('Bound');
    await postClaim(proc!.server, 'tiny-late', 'tiny');
    const waiting = await eventually('the pool counts the late claim waiting', async () => {
      const st = await poolStatus(proc!.server, 'tiny');
      return st?.waiting === 1 ? st : undefined;
    }, 5_000);
    // Why the pool adds no member for it: the cap.
    expect(waiting.conditions?.find((c) => c.type === 'Ready')?.message).toBe('0 of 1 warm members ready; 1 claimed; 1 claim waiting; maxSize 1 reached');
    await eventually('the late claim fails with ClaimTimeout', async () => ((await getClaim(proc!.server, 'tiny-late'))?.status?.phase === 'Failed' ? true : undefined), 10_000);
    // Nothing else wakes this pool (its one member is claimed, the resync is minutes away): the timeout itself must.
    const s = await eventually('the pool no longer counts it waiting', async () => {
      const st = await poolStatus(proc!.server, 'tiny');
      return st?.waiting === 0 ? st : undefined;
    }, 5_000);
    expect(s.conditions?.find((c) => c.type === 'Ready')?.message).not.toMatch(/waiting/);
    await deleteClaim(proc!.server, 'tiny-late');
    await deleteClaim(proc!.server, 'tiny-held');
  });
});
