// Claims through the controller process and its HTTP API: the controller is
// killed mid-claim and restarted (no member bound twice, no accepted claim
// lost), exec on the bound member, and the claim / release CLI.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noEngine } from './support/provided.js';
import { eventually } from './support/runtime-contract.js';
import { freePort, killController, managedContainers, removeDirs, sandboxPool, runCli, spawnController, testDirs, writeSpec, type ControllerProcess, type TestDirs } from './support/controller.js';

const API = '/apis/berth.dev/v1alpha1/namespaces/default';
const pool = sandboxPool('runners', { minReady: 3, maxSize: 8, claimTimeoutSeconds: 6 });

interface Claim {
  metadata: { name: string; uid?: string };
  status?: { phase?: string; containerId?: string; instance?: string };
}

async function listClaims(server: string): Promise<Claim[]> {
  const r = await fetch(`${server}${API}/instanceclaims`);
  return ((await r.json()) as { items: Claim[] }).items;
}

async function poolReady(server: string): Promise<boolean> {
  const r = await fetch(`${server}${API}/instancepools/runners`).catch(() => undefined);
  if (!r?.ok) return false;
  const p = (await r.json()) as { status?: { ready?: number } };
  return (p.status?.ready ?? 0) >= 3;
}

describe.skipIf(noEngine())('claims through the controller process', () => {
  let d: TestDirs;
  let port: number;
  let proc: ControllerProcess | undefined;

  beforeAll(async () => {
    d = await testDirs();
    port = await freePort();
    await writeSpec(d, 'pool.yaml', JSON.stringify(pool) + '\n');
  });

  afterAll(async () => {
    await killController(proc);
    if (d) await removeDirs(d);
  });

  it('killed mid-claim and restarted: no member bound twice, no accepted claim lost', async () => {
    proc = await spawnController(d, port);
    await eventually('pool Ready', () => poolReady(proc!.server).then((ok) => (ok ? true : undefined)), 30_000);
    const accepted: string[] = [];
    const uids = new Map<string, string | undefined>();
    const posts = Array.from({ length: 40 }, (_, i) => `k-${String(i).padStart(2, '0')}`).map(async (name) => {
      const body = { apiVersion: 'berth.dev/v1alpha1', kind: 'InstanceClaim', metadata: { name }, spec: { poolRef: { name: 'runners' } } };
      const r = await fetch(`${proc!.server}${API}/instanceclaims`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(5000) }).catch(() => undefined);
      if (r && r.status < 300) {
        accepted.push(name);
        uids.set(name, ((await r.json()) as Claim).metadata.uid);
      }
    });
    // Kill as soon as some claims are accepted: the rest are mid-flight (accepted, binding, or not yet read).
    await eventually('some claims accepted', () => (accepted.length >= 10 ? true : undefined), 10_000);
    proc.child.kill('SIGKILL');
    await Promise.all(posts);
    await proc.exited;

    proc = await spawnController(d, port);
    const settled = await eventually('accepted claims settled', async () => {
      const claims = await listClaims(proc!.server).catch(() => undefined);
      if (!claims) return undefined;
      const mine = claims.filter((c) => accepted.includes(c.metadata.name));
      return mine.length === accepted.length && mine.every((c) => c.status?.phase === 'Bound' || c.status?.phase === 'Failed') ? claims : undefined;
    }, 60_000);
    // The same objects, not new ones of the same names: a watcher keyed by uid sees no delete and re-create.
    for (const c of settled.filter((x) => accepted.includes(x.metadata.name))) expect(c.metadata.uid).toBe(uids.get(c.metadata.name));
    const bound = settled.filter((c) => c.status?.phase === 'Bound');
    expect(accepted.length).toBeGreaterThanOrEqual(10);
    expect(bound.length).toBeGreaterThanOrEqual(3);
    expect(new Set(bound.map((c) => c.status!.containerId)).size).toBe(bound.length);
    const running = new Set((await managedContainers(d.controllerId)).filter((c) => c.state === 'running').map((c) => c.id));
    for (const c of bound) expect(running.has(c.status!.containerId!)).toBe(true);
  });

  it('exec runs on the bound member through the API', async () => {
    const c = (await listClaims(proc!.server)).find((x) => x.status?.phase === 'Bound')!;
    const r = await fetch(`${proc!.server}${API}/instances/${c.status!.instance}/exec`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ command: ['sh', '-c', 'echo sandbox-ok; exit 7'], timeoutSeconds: 5 }),
    });
    expect(r.status).toBe(200);
    const out = (await r.json()) as { exitCode: number; stdout: string };
    expect(out).toMatchObject({ exitCode: 7, stdout: 'sandbox-ok\n' });
  });

  it('berth release frees members and berth claim binds a fresh one', async () => {
    const env = { BERTH_SERVER: proc!.server };
    const [first, ...rest] = await listClaims(proc!.server);
    expect((await runCli(['release', first!.metadata.name], env)).code).toBe(0);
    for (const c of rest) expect((await fetch(`${proc!.server}${API}/instanceclaims/${c.metadata.name}`, { method: 'DELETE' })).status).toBe(200);
    await eventually('pool Ready again', () => poolReady(proc!.server).then((ok) => (ok ? true : undefined)), 30_000).catch(async (e: Error) => {
      const pool = JSON.stringify((JSON.parse(await fetch(`${proc!.server}${API}/instancepools/runners`).then((r) => r.text())) as { status?: unknown }).status) + JSON.stringify(await managedContainers(d.controllerId).then((l) => l.map((c) => [c.name, c.state])));
      throw new Error(`${e.message}\npool: ${pool}\ncontroller log tail:\n${proc!.output().split('\n').slice(-40).join('\n')}`);
    });
    const r = await runCli(['claim', 'runners', '--ttl', '60s', '--wait', '10s', '--name', 'cli-claim', '-o', 'json'], env);
    expect(r.code).toBe(0);
    const claim = JSON.parse(r.stdout) as Claim;
    expect(claim.status?.phase).toBe('Bound');
    expect(claim.status?.instance).toMatch(/^runners-/);
    expect((await runCli(['release', 'cli-claim'], env)).code).toBe(0);
  });

  it('a warm member no claim holds takes no exec and no copy in (the next claimant gets it as it is); its log reads', async () => {
    await eventually('pool Ready again', () => poolReady(proc!.server).then((ok) => (ok ? true : undefined)), 30_000);
    const claimed = new Set((await listClaims(proc!.server)).filter((c) => c.status?.phase === 'Bound').map((c) => c.status!.instance));
    const warm = (await managedContainers(d.controllerId)).map((c) => `runners-${c.labels['berth.dev/member']}`).find((i) => !claimed.has(i))!;
    expect(warm).toBeDefined();
    const exec = await fetch(`${proc!.server}${API}/instances/${warm}/exec`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ command: ['sh', '-c', 'echo pwned > /tmp/x'] }) });
    expect(exec.status).toBe(409);
    expect(((await exec.json()) as { message: string }).message).toMatch(/member of pool "runners" that no claim holds: claim one/);
    const copyIn = await fetch(`${proc!.server}${API}/instances/${warm}/archive?path=/tmp`, { method: 'PUT', headers: { 'content-type': 'application/x-tar' }, body: new Uint8Array(1024) });
    expect(copyIn.status).toBe(409);
    expect((await fetch(`${proc!.server}${API}/instances/${warm}/log?tailLines=1`)).status).toBe(200);
  });
});
