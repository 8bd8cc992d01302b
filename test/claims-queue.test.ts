// A pool flooded with claims (a CI burst, or a client gone wrong): each claim
// is a small change in the claims journal, not a rewrite of every waiting
// claim; the controller SIGKILLed mid-flood loses no accepted claim and keeps
// every one as the same object; another pool's binding is untouched.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noEngine } from './support/provided.js';
import { eventually } from './support/runtime-contract.js';
import { freePort, killController, managedContainers, removeDirs, sandboxPool, spawnController, testDirs, writeSpec, type ControllerProcess, type TestDirs } from './support/controller.js';

const API = '/apis/berth.dev/v1alpha1/namespaces/default';
const FLOOD = 1500;
const KILL_AFTER = 700;

const pool = (name: string, minReady: number, maxSize: number): object => sandboxPool(name, { minReady, maxSize, claimTimeoutSeconds: 600 });

interface Claim {
  metadata: { name: string; uid?: string };
  spec?: { poolRef?: { name?: string } };
  status?: { phase?: string; containerId?: string };
}

const claimBody = (name: string, poolName: string) => JSON.stringify({ apiVersion: 'berth.dev/v1alpha1', kind: 'InstanceClaim', metadata: { name }, spec: { poolRef: { name: poolName } } });

async function listClaims(server: string): Promise<Claim[]> {
  const r = await fetch(`${server}${API}/instanceclaims`);
  return ((await r.json()) as { items: Claim[] }).items;
}

async function ready(server: string, name: string, n: number): Promise<boolean> {
  const r = await fetch(`${server}${API}/instancepools/${name}`).catch(() => undefined);
  return r?.ok === true && (((await r.json()) as { status?: { ready?: number } }).status?.ready ?? 0) >= n;
}

describe.skipIf(noEngine())('a flooded pool', () => {
  let d: TestDirs;
  let port: number;
  let proc: ControllerProcess | undefined;

  beforeAll(async () => {
    d = await testDirs();
    port = await freePort();
    await writeSpec(d, 'pools.yaml', `${JSON.stringify(pool('busy', 1, 1))}\n---\n${JSON.stringify(pool('other', 1, 2))}\n`);
  });

  afterAll(async () => {
    await killController(proc);
    if (d) await removeDirs(d);
  });

  it(`${FLOOD} claims on one pool, SIGKILL mid-flood: every accepted claim is back as the same object, the other pool's binding stands`, async () => {
    proc = await spawnController(d, port);
    await eventually('pools Ready', async () => ((await ready(proc!.server, 'busy', 1)) && (await ready(proc!.server, 'other', 1)) ? true : undefined), 30_000);
    const held = await fetch(`${proc.server}${API}/instanceclaims?wait=10s`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: claimBody('held', 'other') }).then((r) => r.json() as Promise<Claim>);
    expect(held.status?.phase).toBe('Bound');

    const accepted = new Map<string, string | undefined>();
    let next = 0;
    const clients = Array.from({ length: 8 }, async () => {
      for (;;) {
        const i = next++;
        if (i >= FLOOD) return;
        const name = `q-${String(i).padStart(4, '0')}`;
        const r = await fetch(`${proc!.server}${API}/instanceclaims`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: claimBody(name, 'busy'), signal: AbortSignal.timeout(10_000) }).catch(() => undefined);
        if (!r) return; // the controller is gone
        if (r.status < 300) accepted.set(name, ((await r.json()) as Claim).metadata.uid);
      }
    });
    await eventually('the flood under way', () => (accepted.size >= KILL_AFTER ? true : undefined), 60_000);
    proc.child.kill('SIGKILL');
    await Promise.all(clients);
    await proc.exited;
    expect(accepted.size).toBeGreaterThanOrEqual(KILL_AFTER);

    proc = await spawnController(d, port);
    const after = await eventually('claims served again', () => listClaims(proc!.server).catch(() => undefined), 30_000);
    const byName = new Map(after.map((c) => [c.metadata.name, c]));
    const lost = [...accepted.keys()].filter((n) => !byName.has(n));
    expect(lost).toEqual([]);
    const renewed = [...accepted].filter(([n, uid]) => byName.get(n)?.metadata.uid !== uid).map(([n]) => n);
    expect(renewed).toEqual([]);
    // One member serves the busy pool: at most one of its claims is Bound, the rest wait.
    const busy = after.filter((c) => c.spec?.poolRef?.name === 'busy');
    expect(busy.filter((c) => c.status?.phase === 'Bound').length).toBeLessThanOrEqual(1);
    expect(busy.every((c) => c.status?.phase === 'Bound' || c.status?.phase === 'Pending' || c.status?.phase === undefined)).toBe(true);
    const heldNow = byName.get('held');
    expect(heldNow?.status?.phase).toBe('Bound');
    expect(heldNow?.status?.containerId).toBe(held.status?.containerId);
    const running = new Set((await managedContainers(d.controllerId)).filter((c) => c.state === 'running').map((c) => c.id));
    expect(running.has(held.status!.containerId!)).toBe(true);
  }, 180_000);
});
