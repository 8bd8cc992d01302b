// A real controller process against what a hostile or careless user does
// (issue 10, items 1 and 4-7): it stays up, answers 4xx with a message that
// says where, reads nothing outside its spec directory, and scripts that start
// it and wait work.
import { readFile, symlink, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noEngine } from './support/provided.js';
import { eventually } from './support/runtime-contract.js';
import { freePort, instanceYaml, killController, managedContainers, removeDirs, runCli, spawnController, testDirs, writeSpec, type ControllerProcess, type TestDirs } from './support/controller.js';

const NS = '/apis/berth.dev/v1alpha1/namespaces/default';

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

describe.skipIf(noEngine())('hostile input against a controller process', () => {
  let d: TestDirs;
  let proc: ControllerProcess | undefined;
  let sentinelId = '';

  beforeAll(async () => {
    d = await testDirs();
    await writeSpec(d, 'sentinel.yaml', instanceYaml('sentinel'));
    // Links out of the spec directory: the controller's own memory map and environment, the host's users, and 12 more instances' worth of work.
    for (const [link, target] of <Array<[string, string]>>[['pagemap.yaml', '/proc/self/pagemap'], ['environ.yaml', '/proc/self/environ'], ['passwd.yaml', '/etc/passwd'], ['etc', '/etc']]) await symlink(target, join(d.specDir, link));
    // Twelve instances: more concurrent engine calls than Node's default listener warning allows on one signal.
    await writeSpec(d, 'many.yaml', Array.from({ length: 12 }, (_, i) => instanceYaml(`many-${i}`)).join('---\n'));
    const port = await freePort();
    const started = Date.now();
    proc = await spawnController(d, port, ['--listen', `berth-test.localhost:${port}`]);
    // `berth controller & berth wait ...`: the wait starts before the controller answers.
    const waited = await runCli(['wait', 'instance/sentinel', '--for=condition=Ready', '--timeout=60s', '--server', `http://berth-test.localhost:${port}`]);
    expect(waited).toMatchObject({ code: 0, stdout: 'instance.berth.dev/sentinel condition met\n' });
    expect(Date.now() - started).toBeLessThan(60_000);
    proc = { ...proc, server: `http://127.0.0.1:${port}` };
    sentinelId = (await managedContainers(d.controllerId)).find((c) => c.labels['berth.dev/name'] === 'sentinel')!.id;
  });

  afterAll(async () => {
    await killController(proc);
    if (d) await removeDirs(d);
  });

  it('prints no MaxListenersExceededWarning at start, and *.localhost works for --listen and --server', async () => {
    await eventually('all 13 created', async () => ((await managedContainers(d.controllerId)).length === 13 ? true : undefined), 60_000);
    expect(proc!.output()).not.toMatch(/MaxListenersExceededWarning|memory leak/);
    const got = await runCli(['get', 'instances', '--server', proc!.server.replace('127.0.0.1', 'berth-test.localhost')]);
    expect(got.code).toBe(0);
    expect(got.stdout).toMatch(/sentinel/);
  });

  it('reads nothing through links out of the spec directory: no /etc/passwd or environment in logs or events, RSS bounded', async () => {
    const events = await (await fetch(`${proc!.server}/apis/berth.dev/v1alpha1/events`)).text();
    for (const link of ['pagemap.yaml', 'environ.yaml', 'passwd.yaml', 'etc']) expect(events).toMatch(new RegExp(`${link}: links to .*outside the spec directory`));
    expect(events + proc!.output()).not.toMatch(/root:x:0:0|PATH=\/|HOME=\//);
    expect(await rssMiB(proc!.child.pid!)).toBeLessThan(300);
  });

  it('a 40 KB body of nested [ (YAML and JSON), twice: 400 naming the depth, and the controller stays up', async () => {
    for (let i = 0; i < 2; i++) {
      for (const type of ['application/yaml', 'application/json']) {
        const r = await fetch(`${proc!.server}${NS}/instances`, { method: 'POST', headers: { 'Content-Type': type }, body: '['.repeat(20_000) + (type.endsWith('json') ? ']'.repeat(20_000) : '') });
        expect(r.status).toBe(400);
        expect(((await r.json()) as { message: string }).message).toMatch(/nested too deeply/);
      }
    }
    expect((await fetch(`${proc!.server}/healthz`)).status).toBe(200);
    expect(proc!.child.exitCode).toBeNull();
    expect(await rssMiB(proc!.child.pid!)).toBeLessThan(300);
  });

  it('a web page cannot write: text/plain is 415, a foreign Origin 403, a rebound Host 403', async () => {
    const body = instanceYaml('from-a-page');
    const plain = await fetch(`${proc!.server}${NS}/instances`, { method: 'POST', body });
    expect(plain.status).toBe(415);
    const cross = await fetch(`${proc!.server}${NS}/instances`, { method: 'POST', headers: { 'Content-Type': 'application/json', Origin: 'http://evil.example' }, body });
    expect(cross.status).toBe(403);
    const exec = await fetch(`${proc!.server}${NS}/instances/sentinel/exec`, { method: 'POST', headers: { 'Content-Type': 'application/json', Origin: 'http://evil.example' }, body: '{"command":["true"]}' });
    expect(exec.status).toBe(403);
    // DNS rebinding: the page's own name, resolved to 127.0.0.1.
    const port = new URL(proc!.server).port;
    const rebound = await new Promise<number>((resolve, reject) =>
      http.get({ host: '127.0.0.1', port, path: `${NS}/instances`, headers: { Host: `evil.example:${port}` } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', reject),
    );
    expect(rebound).toBe(403);
    expect((await fetch(`${proc!.server}${NS}/instances/from-a-page`)).status).toBe(404);
  });

  it('?wait=bogus is 400 and leaves no claim behind', async () => {
    const claim = JSON.stringify({ apiVersion: 'berth.dev/v1alpha1', kind: 'InstanceClaim', metadata: { name: 'bogus' }, spec: { poolRef: { name: 'none' } } });
    const r = await fetch(`${proc!.server}${NS}/instanceclaims?wait=bogus`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: claim });
    expect(r.status).toBe(400);
    expect((await fetch(`${proc!.server}${NS}/instanceclaims/bogus`)).status).toBe(404);
  });

  it('berth wait waits for a spec file written after it started', async () => {
    const waiting = runCli(['wait', 'instance/late', '--for=condition=Ready', '--timeout=60s', '--server', proc!.server]);
    await new Promise((r) => setTimeout(r, 500));
    await writeSpec(d, 'late.yaml', instanceYaml('late'));
    expect(await waiting).toMatchObject({ code: 0, stdout: 'instance.berth.dev/late condition met\n' });
  });

  it('berth validate refuses invalid UTF-8 at its line', async () => {
    const file = join(d.root, 'latin1.yaml');
    await writeFile(file, Buffer.concat([Buffer.from(instanceYaml('latin').trim().replace(/}}$/, ',"workingDir":"/caf')), Buffer.from([0xe9]), Buffer.from('"}}\n')]));
    const r = await runCli(['validate', '-f', file]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/latin1\.yaml:1: not valid UTF-8 \(byte 0xe9 at column \d+\)/);
  });

  it('touched no managed container', async () => {
    const sentinel = (await managedContainers(d.controllerId)).find((c) => c.labels['berth.dev/name'] === 'sentinel');
    expect(sentinel).toMatchObject({ id: sentinelId, state: 'running' });
  });
});
