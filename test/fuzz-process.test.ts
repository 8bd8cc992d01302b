// The fuzz suite's real-process part: a controller process on the real engine,
// with one sentinel Instance running, gets hostile requests on every route and
// random layouts in its spec directory. It stays up, refuses with 4xx, keeps
// its RSS bounded, and never touches the sentinel's container or makes another.
// (The bulk, 10,000 cases per route, runs in process: src/api/api.fuzz.test.ts and
// src/spec/load.fuzz.test.ts.) Cases a controller would accept are skipped:
// they would create containers, which is not what this checks.
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseBody } from '../src/api/body.js';
import { ExecRequestBodySchema } from '../src/api/exec.js';
import { hostileBody, type HostileBody } from '../src/spec/testing/hostile-bodies.js';
import { loadSpecPaths, validateResource } from '../src/spec/load.js';
import { layout, materialize } from '../src/spec/testing/hostile-layouts.js';
import { noEngine } from './support/provided.js';
import { eventually } from './support/runtime-contract.js';
import { freePort, instanceYaml, killController, managedContainers, removeDirs, spawnController, testDirs, writeSpec, type ControllerProcess, type TestDirs } from './support/controller.js';

const RUNS = Number(process.env['FUZZ_PROCESS_RUNS'] ?? 150);
const LAYOUT_RUNS = Number(process.env['FUZZ_PROCESS_LAYOUT_RUNS'] ?? 15);
const NS = '/apis/berth.dev/v1alpha1/namespaces/default';

async function rssMiB(pid: number): Promise<number> {
  return Number(/VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
}

/** Would a controller accept this body on this route? (Then it is skipped.) */
function accepted(b: HostileBody, route: 'resource' | 'exec'): boolean {
  let value: unknown;
  try {
    value = parseBody(b.body.toString('utf8'), b.contentType);
  } catch {
    return false;
  }
  if (route === 'exec') return ExecRequestBodySchema.safeParse(value).success;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  return validateResource({ ...(value as object), metadata: { namespace: 'default', name: 'x', ...((value as { metadata?: object }).metadata ?? {}) } }, 'x').resource !== undefined;
}

describe.skipIf(noEngine())('fuzz against a controller process on the real engine', () => {
  let d: TestDirs;
  let proc: ControllerProcess | undefined;
  let port = 0;
  let sentinelId = '';
  let rssAfterStart = 0;

  function send(method: string, path: string, b?: HostileBody): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = {};
      if (b?.contentType !== undefined) headers['Content-Type'] = b.contentType;
      if (b) headers['Content-Length'] = String(Buffer.byteLength(b.body));
      const req = http.request({ host: '127.0.0.1', port, path, method, headers }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.setTimeout(30_000, () => req.destroy(new Error(`no answer within 30 s: ${method} ${path}`)));
      req.on('error', (e: NodeJS.ErrnoException) => {
        // The server may refuse a large body and close before the client has written it all: the answer
        // still counts (and is checked by the caller); a close with no answer within 2 s is a failure.
        if (e.code === 'EPIPE' || e.code === 'ECONNRESET') setTimeout(() => reject(e), 2000);
        else reject(e);
      });
      req.end(b?.body);
    });
  }

  const refused = (a: { status: number; body: string }, what: string): void => {
    expect(a.status, `${what}: ${a.body.slice(0, 300)}`).toBeGreaterThanOrEqual(400);
    expect(a.status, `${what}: ${a.body.slice(0, 300)}`).toBeLessThan(500);
    expect((JSON.parse(a.body) as { message?: string }).message?.length ?? 0, what).toBeGreaterThan(0);
  };

  beforeAll(async () => {
    d = await testDirs();
    await writeSpec(d, 'sentinel.yaml', instanceYaml('sentinel'));
    port = await freePort();
    proc = await spawnController(d, port);
    sentinelId = await eventually('sentinel running', async () => (await managedContainers(d.controllerId)).find((c) => c.state === 'running')?.id, 60_000);
    rssAfterStart = await rssMiB(proc.child.pid!);
  });

  afterAll(async () => {
    await killController(proc);
    if (d) await removeDirs(d);
  });

  it.each(['instances', 'instancepools', 'instanceclaims'])('POST and PUT .../%s with hostile bodies', async (plural) => {
    await fc.assert(
      fc.asyncProperty(hostileBody(plural), fc.boolean(), async (b, put) => {
        fc.pre(!accepted(b, 'resource'));
        refused(await send(put ? 'PUT' : 'POST', put ? `${NS}/${plural}/fuzz` : `${NS}/${plural}`, b), `${b.label} as ${b.contentType}`);
      }),
      { numRuns: RUNS },
    );
  });

  it('exec on the sentinel with hostile bodies runs nothing', async () => {
    await fc.assert(
      fc.asyncProperty(hostileBody(), async (b) => {
        fc.pre(!accepted(b, 'exec'));
        refused(await send('POST', `${NS}/instances/sentinel/exec`, b), `${b.label} as ${b.contentType}`);
      }),
      { numRuns: RUNS },
    );
  });

  it('random spec directory layouts beside the sentinel\'s file', async () => {
    const outside = join(d.root, 'outside');
    await mkdir(outside, { recursive: true });
    const secretFile = join(outside, 'secret.yaml');
    await writeFile(secretFile, instanceYaml('secret'));
    const sub = join(d.specDir, 'fuzz');
    await fc.assert(
      fc.asyncProperty(layout, async (entries) => {
        // Made beside the spec directory first: a layout that declares more than the sentinel would
        // create containers (not what this checks) and is dropped before the controller can see it.
        const staging = join(d.root, 'staging');
        await rm(staging, { recursive: true, force: true });
        await materialize(staging, entries, d.specDir, { dir: outside, secretFile });
        const staged = await loadSpecPaths([staging]);
        fc.pre(staged.resources.every((r) => r.resource.metadata.name === 'sentinel'));
        await rm(sub, { recursive: true, force: true });
        await rename(staging, sub);
        const local = await loadSpecPaths([d.specDir]);
        expect(local.resources.map((r) => r.resource.metadata.name)).toEqual(['sentinel']);
        // Within 10 s, not the 30 s rescan: every change, in new directories too, is noticed by a watcher.
        const want = local.errors.length > 0 ? 503 : 200;
        await eventually(`/readyz ${want} for ${local.errors.map((e) => e.format()).join('; ') || 'a clean layout'}`, async () => ((await send('GET', '/readyz')).status === want ? true : undefined), 10_000);
      }),
      { numRuns: LAYOUT_RUNS },
    );
    await rm(sub, { recursive: true, force: true });
    await eventually('/readyz 200 once the layout is gone', async () => ((await send('GET', '/readyz')).status === 200 ? true : undefined), 30_000);
  });

  it('afterwards: up, RSS bounded, the sentinel container untouched and no other created', async () => {
    expect(proc!.child.exitCode).toBeNull();
    expect((await send('GET', '/healthz')).status).toBe(200);
    expect(await rssMiB(proc!.child.pid!)).toBeLessThan(Math.max(300, rssAfterStart + 150));
    const list = await managedContainers(d.controllerId);
    expect(list.map((c) => [c.id, c.state])).toEqual([[sentinelId, 'running']]);
  });
});
