// A bounded churn soak: a controller process on the real engine takes claims
// (claim, exec, release: each a container replaced) and spec edits (an
// Instance replaced) for BERTH_SOAK_MINUTES (2 by default, as CI runs it;
// BERTH_SOAK_MINUTES=60 for the long run), sampling its RSS and open file
// descriptors. Afterwards: no container leaked (at any sample the pool stays
// within its bounds; when the specs go, everything goes), and neither RSS nor
// handles grew after the warm-up beyond a small allowance.
// Churn stays modest: about one claim every 1.5 s (80 container cycles in 2 minutes).
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABEL } from '../src/runtime/types.js';
import { noEngine } from './support/provided.js';
import { eventually } from './support/runtime-contract.js';
import { TEST_IMAGE } from './support/engine.js';
import { freePort, instanceYaml, killController, managedContainers, removeDirs, spawnController, testDirs, writeSpec, type ControllerProcess, type TestDirs } from './support/controller.js';

const MINUTES = Number(process.env['BERTH_SOAK_MINUTES'] ?? 2);
const CLAIM_EVERY_MS = 1_500;
const EDIT_EVERY_MS = 15_000;
const SAMPLE_EVERY_MS = 5_000;
const MAX_SIZE = 4;
const API = '/apis/berth.dev/v1alpha1/namespaces/default';

const pool = {
  apiVersion: 'berth.dev/v1alpha1',
  kind: 'InstancePool',
  metadata: { name: 'soak' },
  spec: {
    minReady: 2,
    maxSize: MAX_SIZE,
    claimTimeoutSeconds: 20,
    recycle: { policy: 'Replace' },
    template: {
      image: TEST_IMAGE,
      command: ['sh', '-c', "trap 'exit 0' TERM; sleep 3600 & wait"],
      network: 'none',
      stopGracePeriodSeconds: 1,
      healthCheck: { exec: { command: ['true'] }, periodSeconds: 1 },
    },
  },
};

interface Sample {
  atMs: number;
  rssMiB: number;
  fds: number;
  poolContainers: number;
  instanceContainers: number;
}

async function sample(pid: number, controllerId: string, atMs: number): Promise<Sample> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const fds = (await readdir(`/proc/${pid}/fd`)).length;
  const list = await managedContainers(controllerId);
  return {
    atMs,
    rssMiB: Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024,
    fds,
    poolContainers: list.filter((c) => c.labels[LABEL.kind] === 'InstancePool').length,
    instanceContainers: list.filter((c) => c.labels[LABEL.kind] === 'Instance').length,
  };
}

describe.skipIf(noEngine())(`churn soak (${MINUTES} min)`, () => {
  let d: TestDirs;
  let proc: ControllerProcess | undefined;

  beforeAll(async () => {
    d = await testDirs();
    await writeSpec(d, 'pool.yaml', JSON.stringify(pool) + '\n');
    await writeSpec(d, 'editable.yaml', instanceYaml('editable', { env: [{ name: 'ROUND', value: '0' }] }));
    proc = await spawnController(d, await freePort());
  });

  afterAll(async () => {
    await killController(proc);
    if (d) await removeDirs(d);
  });

  it('claims and spec edits: no leaked container, no growth in RSS or open handles', async () => {
    const server = proc!.server;
    await eventually('pool warm', async () => {
      const r = await fetch(`${server}${API}/instancepools/soak`).catch(() => undefined);
      return r?.ok && (((await r.json()) as { status?: { ready?: number } }).status?.ready ?? 0) >= 2 ? true : undefined;
    }, 60_000);

    const started = Date.now();
    const end = started + MINUTES * 60_000;
    const samples: Sample[] = [];
    const failures: string[] = [];
    let claims = 0;
    let bound = 0;
    let edits = 0;

    const claimLoop = async (): Promise<void> => {
      while (Date.now() < end) {
        const next = Date.now() + CLAIM_EVERY_MS;
        const name = `soak-${claims++}`;
        const body = JSON.stringify({ apiVersion: 'berth.dev/v1alpha1', kind: 'InstanceClaim', metadata: { name }, spec: { poolRef: { name: 'soak' }, ttlSeconds: 60 } });
        const r = await fetch(`${server}${API}/instanceclaims?wait=20s`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
        const claim = (await r.json()) as { status?: { phase?: string; instance?: string } };
        if (claim.status?.phase === 'Bound') {
          bound++;
          const e = await fetch(`${server}${API}/instances/${claim.status.instance}/exec`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"command":["true"],"timeoutSeconds":10}' });
          if (e.status !== 200) failures.push(`exec on ${claim.status.instance}: ${e.status} ${await e.text()}`);
        } else {
          failures.push(`claim ${name}: ${r.status} ${JSON.stringify(claim.status)}`);
        }
        await fetch(`${server}${API}/instanceclaims/${name}`, { method: 'DELETE' });
        await new Promise((res) => setTimeout(res, Math.max(0, next - Date.now())));
      }
    };
    const editLoop = async (): Promise<void> => {
      while (Date.now() + EDIT_EVERY_MS < end) {
        await new Promise((res) => setTimeout(res, EDIT_EVERY_MS));
        await writeSpec(d, 'editable.yaml', instanceYaml('editable', { env: [{ name: 'ROUND', value: String(++edits) }] }));
      }
    };
    const sampleLoop = async (): Promise<void> => {
      while (Date.now() < end) {
        samples.push(await sample(proc!.child.pid!, d.controllerId, Date.now() - started));
        await new Promise((res) => setTimeout(res, SAMPLE_EVERY_MS));
      }
    };
    await Promise.all([claimLoop(), editLoop(), sampleLoop()]);
    samples.push(await sample(proc!.child.pid!, d.controllerId, Date.now() - started));

    const trace = samples.map((s) => `${Math.round(s.atMs / 1000)}s rss=${s.rssMiB.toFixed(0)}MiB fds=${s.fds} pool=${s.poolContainers} inst=${s.instanceContainers}`).join('\n');
    process.stderr.write(`soak: ${claims} claims (${bound} bound), ${edits} spec edits\n${trace}\n`);
    expect(proc!.child.exitCode, trace).toBeNull();
    // Most claims bound (a few may wait out a replacement on a loaded machine), and each ran its exec.
    expect(bound, `${failures.join('\n')}\n${trace}`).toBeGreaterThanOrEqual(Math.floor(claims * 0.9));
    expect(edits).toBeGreaterThanOrEqual(Math.floor((MINUTES * 60_000) / EDIT_EVERY_MS) - 1);
    // Never more containers than the bounds allow: maxSize plus the members terminating, one Instance plus its replacement.
    for (const s of samples) {
      expect(s.poolContainers, trace).toBeLessThanOrEqual(MAX_SIZE + 3);
      expect(s.instanceContainers, trace).toBeLessThanOrEqual(2);
    }
    // After the warm-up (the first quarter), RSS and descriptors stay flat.
    const warm = samples.filter((s) => s.atMs >= (MINUTES * 60_000) / 4);
    const first = warm[0]!;
    const last = samples[samples.length - 1]!;
    expect(last.rssMiB - first.rssMiB, trace).toBeLessThan(40);
    expect(last.fds - first.fds, trace).toBeLessThan(20);

    // The specs go: every container goes, nothing is left behind.
    await rm(join(d.specDir, 'pool.yaml'));
    await rm(join(d.specDir, 'editable.yaml'));
    await eventually('no managed container left', async () => ((await managedContainers(d.controllerId)).length === 0 ? true : undefined), 60_000);
    const left = (await (await fetch(`${server}${API}/instanceclaims`)).json()) as { items: unknown[] };
    expect(left.items).toEqual([]);
  }, MINUTES * 60_000 + 240_000);
});
