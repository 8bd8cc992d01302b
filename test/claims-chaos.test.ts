// Claims the way the sandbox users drive them, while the controller is
// SIGKILLed and restarted again and again: several clients loop claim (wait)
// -> exec -> release, and a request cut off by a kill is looked up once the
// controller answers again. No member is ever held by two clients at once
// (the clients' own view) nor Bound to two claims (the API's view, sampled),
// every claim ends Bound or Failed, and the pool heals afterwards.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noEngine } from './support/provided.js';
import { eventually } from './support/runtime-contract.js';
import { heldTwice, type Hold } from './support/claim-holds.js';
import { freePort, killController, managedContainers, removeDirs, sandboxPool, spawnController, testDirs, writeSpec, type ControllerProcess, type TestDirs } from './support/controller.js';

const API = '/apis/berth.dev/v1alpha1/namespaces/default';
const CLIENTS = 4;
const KILLS = 3;
const pool = sandboxPool('chaos', { minReady: 2, maxSize: 4, claimTimeoutSeconds: 20, recycle: { policy: 'Reuse' } });

interface ClaimStatus {
  phase?: string;
  containerId?: string;
  instance?: string;
}
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe.skipIf(noEngine())('claims across repeated controller SIGKILLs', () => {
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

  const call = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> => {
    const r = await fetch(`http://127.0.0.1:${port}${API}${path}`, {
      method,
      ...(body ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(25_000),
    });
    const text = await r.text();
    return { status: r.status, json: text ? JSON.parse(text) : undefined };
  };
  /** Retries through the moments the controller is down, or up and still loading (503). */
  const until = async (f: () => Promise<{ status: number; json: any }>): Promise<{ status: number; json: any }> => {
    for (;;) {
      try {
        const r = await f();
        if (r.status !== 503) return r;
      } catch {
        // not listening yet
      }
      await sleep(150);
    }
  };

  it('no member is held twice, every claim ends, and the pool heals', async () => {
    proc = await spawnController(d, port);
    await eventually('pool Ready', () => call('GET', '/instancepools/chaos').then((r) => ((r.json?.status?.ready ?? 0) >= 2 ? true : undefined)).catch(() => undefined), 30_000);
    const holds: Hold[] = [];
    const problems: string[] = [];
    const outcomes = new Map<string, number>();
    /** Claims that ended neither Bound nor Failed, with their last status: what the failure shows. */
    const odd: Array<{ name: string; status: ClaimStatus | undefined }> = [];
    let stop = false;

    const client = async (c: number): Promise<void> => {
      for (let k = 0; !stop; k++) {
        const name = `c${c}-${k}`;
        const sentAt = performance.now();
        let status: ClaimStatus | undefined;
        try {
          const r = await call('POST', '/instanceclaims?wait=20s', { apiVersion: 'berth.dev/v1alpha1', kind: 'InstanceClaim', metadata: { name }, spec: { poolRef: { name: 'chaos' } } });
          if (r.status >= 300) throw new Error(`POST ${name}: ${r.status}`);
          status = r.json?.status;
        } catch {
          // Cut off by a kill: the claim may or may not have been accepted.
          const g = await until(() => call('GET', `/instanceclaims/${name}`));
          if (g.status === 404) continue;
          status = g.json?.status;
        }
        for (let i = 0; (!status?.phase || status.phase === 'Pending') && i < 200; i++) {
          await sleep(150);
          status = (await until(() => call('GET', `/instanceclaims/${name}`))).json?.status;
        }
        outcomes.set(status?.phase ?? 'none', (outcomes.get(status?.phase ?? 'none') ?? 0) + 1);
        if (status?.phase !== 'Bound' && status?.phase !== 'Failed') odd.push({ name, status });
        if (status?.phase === 'Bound' && status.containerId) {
          const boundAt = performance.now();
          await call('POST', `/instances/${status.instance}/exec`, { command: ['true'], timeoutSeconds: 10 }).catch(() => undefined);
          await sleep(Math.random() * 200);
          holds.push({ claim: name, containerId: status.containerId, sentAt, boundAt, releaseSentAt: performance.now() });
        }
        await until(async () => {
          const r = await call('DELETE', `/instanceclaims/${name}`);
          if (r.status !== 200 && r.status !== 202 && r.status !== 404 && r.status !== 503) throw new Error(`DELETE ${name}: ${r.status}`);
          return r;
        });
      }
    };
    const sampler = async (): Promise<void> => {
      while (!stop) {
        const r = await call('GET', '/instanceclaims').catch(() => undefined);
        const byContainer = new Map<string, string>();
        for (const item of (r?.json?.items ?? []) as Array<{ metadata: { name: string }; status?: ClaimStatus }>) {
          if (item.status?.phase !== 'Bound' || !item.status.containerId) continue;
          const other = byContainer.get(item.status.containerId);
          if (other) problems.push(`the API shows ${other} and ${item.metadata.name} both Bound to ${item.status.containerId.slice(0, 12)}`);
          byContainer.set(item.status.containerId, item.metadata.name);
        }
        await sleep(100);
      }
    };
    const clients = [...Array.from({ length: CLIENTS }, (_, c) => client(c)), sampler()];
    for (let kill = 0; kill < KILLS; kill++) {
      await sleep(3_000 + Math.random() * 2_000);
      proc.child.kill('SIGKILL');
      await proc.exited;
      await sleep(200);
      proc = await spawnController(d, port);
    }
    // Enough claims after the kills to show the pool serving (a loaded machine binds fewer per second).
    const enough = performance.now() + 60_000;
    await sleep(3_000);
    while (holds.length < KILLS * CLIENTS && performance.now() < enough) await sleep(250);
    stop = true;
    await Promise.all(clients);

    // The clients' view: a claim whose whole request fell inside another's hold of the same member got it twice.
    problems.push(...heldTwice(holds));
    expect(problems).toEqual([]);
    expect(odd, `outcomes ${JSON.stringify([...outcomes])}`).toEqual([]);
    expect(holds.length).toBeGreaterThanOrEqual(KILLS * CLIENTS);

    // Healed: no claim left, minReady warm, and the engine holds exactly the pool's members, within maxSize.
    await eventually('pool healed', async () => {
      const claims = await call('GET', '/instanceclaims').catch(() => undefined);
      const status = (await call('GET', '/instancepools/chaos').catch(() => undefined))?.json?.status;
      const members = await managedContainers(d.controllerId);
      const healed = claims?.json?.items?.length === 0 && status?.ready >= 2 && status.claimed === 0 && status.terminating === 0 && members.length === status.replicas && members.length <= 4;
      return healed ? true : undefined;
    }, 30_000);
  });
});
