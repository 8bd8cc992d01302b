// A Reuse pool whose members have no probe, through the controller process and
// its API on the real engine: a released member is recycled in place and is
// ready again at once (nothing to pass), and each recycle must still count as
// becoming ready again, or no claim binds the member a second time (claims
// then time out on a warm pool). Here one member serves three claims in turn.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noEngine } from './support/provided.js';
import { eventually } from './support/runtime-contract.js';
import { TEST_IMAGE } from './support/engine.js';
import { freePort, killController, removeDirs, spawnController, testDirs, writeSpec, type ControllerProcess, type TestDirs } from './support/controller.js';

const API = '/apis/berth.dev/v1alpha1/namespaces/default';
const POOL = 'plain';

interface ClaimObject {
  status?: { phase?: string; instance?: string; containerId?: string };
}

async function postClaim(server: string, name: string): Promise<void> {
  const body = { apiVersion: 'berth.dev/v1alpha1', kind: 'InstanceClaim', metadata: { name }, spec: { poolRef: { name: POOL } } };
  const r = await fetch(`${server}${API}/instanceclaims`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(30_000) });
  expect(r.status, await r.clone().text()).toBeLessThan(300);
}

async function claimStatus(server: string, name: string): Promise<ClaimObject['status']> {
  const r = await fetch(`${server}${API}/instanceclaims/${name}`);
  return r.ok ? ((await r.json()) as ClaimObject).status : undefined;
}

async function deleteClaim(server: string, name: string): Promise<void> {
  const r = await fetch(`${server}${API}/instanceclaims/${name}`, { method: 'DELETE' });
  expect(r.status).toBeLessThan(300);
}

describe.skipIf(noEngine())('a Reuse member without a probe on the real engine', () => {
  let d: TestDirs;
  let proc: ControllerProcess | undefined;

  beforeAll(async () => {
    d = await testDirs();
    const pool = {
      apiVersion: 'berth.dev/v1alpha1',
      kind: 'InstancePool',
      metadata: { name: POOL },
      spec: { minReady: 1, maxSize: 1, claimTimeoutSeconds: 30, recycle: { policy: 'Reuse' }, template: { image: TEST_IMAGE, command: ['sleep', '3600'], network: 'none', stopGracePeriodSeconds: 1 } },
    };
    await writeSpec(d, 'plain.yaml', JSON.stringify(pool) + '\n');
    proc = await spawnController(d, await freePort());
    await eventually('the member warm', async () => {
      const r = await fetch(`${proc!.server}${API}/instancepools/${POOL}`).catch(() => undefined);
      const ready = r?.ok ? ((await r.json()) as { status?: { ready?: number } }).status?.ready : undefined;
      return (ready ?? 0) >= 1 || undefined;
    }, 60_000);
  });

  afterAll(async () => {
    await killController(proc);
    if (d) await removeDirs(d);
  });

  it('serves claim after claim: each waiting claim gets the released member, recycled in place', async () => {
    const server = proc!.server;
    const bound = (name: string, withinMs: number) => eventually(`${name} bound`, async () => {
      const s = await claimStatus(server, name);
      return s?.phase === 'Bound' ? s : undefined;
    }, withinMs);
    await postClaim(server, 'first');
    const first = await bound('first', 10_000);

    for (const [released, next] of [['first', 'second'], ['second', 'third']] as const) {
      await postClaim(server, next);
      // maxSize 1: the next claim waits for the one member.
      expect((await claimStatus(server, next))?.phase ?? 'Pending').toBe('Pending');
      await deleteClaim(server, released);
      // Recycled in place with nothing to pass, it is ready again at once: far sooner than the claim's 30 s timeout.
      const s = await bound(next, 10_000);
      if (s.containerId !== first.containerId) console.log(proc!.output().split('\n').slice(-60).join('\n'));
      expect(s.containerId, `${next} serves on the member ${released} released`).toBe(first.containerId);
    }
    await deleteClaim(server, 'third');
  });
});
