// The client commands end to end, in process, against a real API server
// (store, API source, recorder); exec and logs use a fake two-method runtime.
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../api/testing/harness.js';
import { InstanceSchema, type ResourceKey } from '../spec/schema.js';
import { register as apply } from './commands/apply.js';
import { register as claim } from './commands/claim.js';
import { register as del } from './commands/delete.js';
import { register as describeCmd } from './commands/describe.js';
import { register as events } from './commands/events.js';
import { register as exec } from './commands/exec.js';
import { register as get } from './commands/get.js';
import { register as logs } from './commands/logs.js';
import { register as release } from './commands/release.js';
import { register as validate } from './commands/validate.js';
import { register as wait } from './commands/wait.js';
import { run } from './program.js';
import { captureIo, type CapturedIo } from './testing/io.js';

const COMMANDS = [apply, del, get, describeCmd, wait, validate, claim, release, exec, logs, events];
const WEB: ResourceKey = { kind: 'Instance', namespace: 'default', name: 'web' };

const instanceYaml = (name: string, image = 'nginx:1.27', extra = '') => `apiVersion: berth.dev/v1alpha1
kind: Instance
metadata:
  name: ${name}
spec:
  image: ${image}
${extra}`;

let h: Harness;
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-cli-'));
});
afterEach(async () => {
  await h?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** Runs `berth ARGS` against the harness (--server first, as a global option). */
async function berth(args: string[], io: CapturedIo = captureIo()): Promise<{ code: number; out: string; err: string }> {
  const code = await run(['--server', h.base, ...args], COMMANDS, io, 'user');
  return { code, out: io.stdout, err: io.stderr };
}

/**
 * Resolves when the next listener subscribes to the store: the API opened a
 * watch (or a claim's wait) for the command under test, which waits now. A
 * change made then is one the command must see arrive, not read up front.
 */
function nextWatch(): Promise<void> {
  const store = h.deps.store;
  const subscribe = store.subscribe;
  return new Promise((resolve) => {
    store.subscribe = (listener) => {
      store.subscribe = subscribe;
      const unsubscribe = subscribe.call(store, listener);
      resolve();
      return unsubscribe;
    };
  });
}

async function file(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, text);
  return path;
}

const readyStatus = (status: 'True' | 'False', extra: object = {}) => ({
  phase: status === 'True' ? 'running' : 'failed',
  containerId: 'c0ffee1234567890',
  configHash: 'v1-0123456789abcdef0123456789abcdef',
  restartCount: status === 'True' ? 0 : 7,
  conditions: [
    {
      type: 'Ready',
      status,
      observedGeneration: 1,
      lastTransitionTime: new Date().toISOString(),
      reason: status === 'True' ? 'ProbePassing' : 'CrashLoopBackOff',
      message: status === 'True' ? 'probe ok' : 'exited with code 1; back-off 40s',
    },
  ],
  ...extra,
});

describe('apply', () => {
  it('applies the valid resources, reports invalid ones as file:line path: message, exits 1', async () => {
    h = await startHarness();
    await file('specs/a-web.yaml', instanceYaml('web'));
    const bad = await file('specs/b-bad.yaml', `apiVersion: berth.dev/v1alpha1\nkind: Instance\nmetadata:\n  name: bad\nspec:\n  imagee: nginx\n`);
    const r = await berth(['apply', '-f', join(dir, 'specs')]);
    expect(r.code).toBe(1);
    expect(r.out).toBe('instance.berth.dev/web created\n');
    expect(r.err).toContain(`${bad}:5 spec.image: required field is missing\n`);
    expect(r.err).toContain(`${bad}:6 spec.imagee: unknown field\n`);
    expect(h.deps.store.get(WEB)).toBeDefined();
  });

  it('prints created, unchanged, configured like kubectl', async () => {
    h = await startHarness();
    const f = await file('web.yaml', instanceYaml('web'));
    expect(await berth(['apply', '-f', f])).toMatchObject({ code: 0, out: 'instance.berth.dev/web created\n' });
    expect(await berth(['apply', '-f', f])).toMatchObject({ code: 0, out: 'instance.berth.dev/web unchanged\n' });
    await writeFile(f, instanceYaml('web', 'nginx:1.28'));
    expect(await berth(['apply', '-f', f])).toMatchObject({ code: 0, out: 'instance.berth.dev/web configured\n' });
  });

  it('reads stdin with -f -', async () => {
    h = await startHarness();
    const r = await berth(['apply', '-f', '-'], captureIo(`${instanceYaml('a')}---\n${instanceYaml('b')}`));
    expect(r).toMatchObject({ code: 0, out: 'instance.berth.dev/a created\ninstance.berth.dev/b created\n' });
  });

  it("leaves the controller's policy to the controller, and shows its answer located", async () => {
    h = await startHarness();
    const f = await file('priv.yaml', instanceYaml('priv', 'nginx', '  security:\n    privileged: true\n'));
    const r = await berth(['apply', '-f', f]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('error: instance.berth.dev/priv was refused by the controller (Invalid):\n');
    expect(r.err).toMatch(new RegExp(`${f}:1 spec\\.security\\.privileged: privileged containers are refused`));
  });

  it('names the owning spec file on a conflict', async () => {
    h = await startHarness();
    h.deps.store.apply(InstanceSchema.parse({ apiVersion: 'berth.dev/v1alpha1', kind: 'Instance', metadata: { name: 'web' }, spec: { image: 'x' } }), { source: 'file', file: 'gitops/web.yaml', line: 1 });
    const f = await file('web.yaml', instanceYaml('web'));
    const r = await berth(['apply', '-f', f]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`error: ${f}:1 instance.berth.dev/web: Instance/default/web is owned by spec file gitops/web.yaml:1; edit that file instead`);
  });
});

describe('get, describe, delete', () => {
  beforeEach(async () => {
    h = await startHarness();
    await berth(['apply', '-f', '-'], captureIo(`${instanceYaml('web')}---\n${instanceYaml('api')}`));
    h.deps.store.setStatus(WEB, readyStatus('True'));
  });

  it('prints a table, and the other formats', async () => {
    const table = await berth(['get', 'instances']);
    expect(table.code).toBe(0);
    expect(table.out.split('\n')[0]).toBe('NAME      PHASE     READY     RESTARTS   HASH           AGE');
    expect(table.out).toMatch(/^web {7}running {3}True {6}0 {10}0123456789ab {3}\d+s$/m);
    expect(table.out).toMatch(/^api {7}<none> {4}<none> {4}0 {10}<none> {9}\d+s$/m);

    expect((await berth(['get', 'inst', '-o', 'name'])).out).toBe('instance.berth.dev/api\ninstance.berth.dev/web\n');
    const yaml = await berth(['get', 'instance/web', '-o', 'yaml']);
    expect(yaml.out).toMatch(/^apiVersion: berth.dev\/v1alpha1\nkind: Instance\n/);
    expect(yaml.out).toContain('phase: running');
    const json = JSON.parse((await berth(['get', 'inst', '-o', 'json'])).out);
    expect(json).toMatchObject({ kind: 'List', items: [{ metadata: { name: 'api' } }, { metadata: { name: 'web' } }] });
    const wide = await berth(['get', 'inst', 'web', '-o', 'wide', '-n', 'default']);
    expect(wide.out.split('\n')[0]).toMatch(/AGE +CONTAINER +MESSAGE$/);
    expect(wide.out).toContain('c0ffee123456');
    expect((await berth(['get', 'inst', '-A'])).out.split('\n')[0]).toMatch(/^NAMESPACE +NAME +PHASE/);
  });

  it('takes several types at once, as kubectl does (get instances,instancepools)', async () => {
    const both = await berth(['get', 'instances,instancepools', '-o', 'name']);
    expect(both.code).toBe(0);
    expect(both.out).toBe('instance.berth.dev/api\ninstance.berth.dev/web\n');
    expect(both.err).toContain('No resources found in default namespace.');
    const tables = await berth(['get', 'inst,claim']);
    expect(tables.out.split('\n')[0]).toMatch(/^NAME +PHASE/);
    expect((await berth(['get', 'inst,pool', 'web'])).code).not.toBe(0);
  });

  it('says when there is nothing, and when a name is not found', async () => {
    expect(await berth(['get', 'pools'])).toMatchObject({ code: 0, out: '', err: 'No resources found in default namespace.\n' });
    expect(await berth(['get', 'inst', 'nope'])).toMatchObject({ code: 1, err: 'Error from server (NotFound): instances.berth.dev "nope" not found\n' });
    expect(await berth(['get', 'widgets'])).toMatchObject({ code: 1, err: expect.stringMatching(/^error: the server doesn't have a resource type "widgets"/) });
  });

  it('get -w prints a row per change', async () => {
    const io = captureIo();
    const running = berth(['get', 'inst', 'web', '-w'], io);
    await expect.poll(() => io.stdout.split('\n').length).toBe(3); // header, row, ''
    h.deps.store.setStatus(WEB, readyStatus('False'));
    await expect.poll(() => io.stdout).toMatch(/^web +failed +False +7 /m);
    io.interrupt();
    expect((await running).code).toBe(0);
  });

  it('describe shows spec, status, conditions and events', async () => {
    h.deps.recorder.record({ type: 'Normal', reason: 'Created', message: 'created container c0ffee123456', involvedObject: { kind: 'Instance', namespace: 'default', name: 'web' } });
    h.deps.recorder.record({ type: 'Normal', reason: 'Created', message: 'created container other', involvedObject: { kind: 'Instance', namespace: 'default', name: 'api' } });
    const r = await berth(['describe', 'inst', 'web']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Name: +web\nNamespace: +default\nKind: +Instance \(berth.dev\/v1alpha1\)\n/);
    expect(r.out).toContain('Spec:\n  image: nginx:1.27\n');
    expect(r.out).toContain('Status:\n  phase: running\n');
    expect(r.out).toMatch(/Conditions:\n {2}TYPE +STATUS +REASON +SINCE +MESSAGE\n {2}Ready +True +ProbePassing +\d+s +probe ok\n/);
    expect(r.out).toMatch(/Events:\n {2}LAST SEEN +TYPE +REASON +MESSAGE\n {2}\d+s +Normal +Created +created container c0ffee123456\n$/);
  });

  it('deletes by type and name, by file, and reports what is missing', async () => {
    expect(await berth(['delete', 'instance', 'web'])).toMatchObject({ code: 0, out: 'instance.berth.dev "web" deleted\n' });
    expect(await berth(['delete', 'inst/web'])).toMatchObject({ code: 1, err: 'Error from server (NotFound): instances.berth.dev "web" not found\n' });
    expect(await berth(['delete', 'inst/web', '--ignore-not-found'])).toMatchObject({ code: 0, out: '' });
    const f = await file('api.yaml', instanceYaml('api'));
    expect(await berth(['delete', '-f', f])).toMatchObject({ code: 0, out: 'instance.berth.dev "api" deleted\n' });
    expect(h.deps.store.list()).toEqual([]);
  });
});

describe('wait', () => {
  beforeEach(async () => {
    h = await startHarness();
    await berth(['apply', '-f', '-'], captureIo(instanceYaml('web')));
  });

  it('exits 0 once the condition holds', async () => {
    const watching = nextWatch();
    const running = berth(['wait', 'instance/web', '--for=condition=Ready', '--timeout=5s']);
    await watching;
    h.deps.store.setStatus(WEB, readyStatus('True'));
    expect(await running).toMatchObject({ code: 0, out: 'instance.berth.dev/web condition met\n' });
  });

  it('on timeout exits 1 naming the condition, reason and message', async () => {
    h.deps.store.setStatus(WEB, readyStatus('False'));
    const r = await berth(['wait', 'instance/web', '--for=condition=Ready', '--timeout=300ms']);
    expect(r).toMatchObject({
      code: 1,
      err: 'error: timed out waiting for the condition on instance/web (Ready=False, reason: CrashLoopBackOff: exited with code 1; back-off 40s)\n',
    });
  });

  it('waits for an object that does not exist yet, within --timeout; --for=delete succeeds', async () => {
    expect(await berth(['wait', 'inst/nope', '--for=condition=Ready', '--timeout=300ms'])).toMatchObject({
      code: 1,
      err: 'error: timed out waiting for the condition on instance/nope (the object does not exist)\n',
    });
    const NEW: ResourceKey = { kind: 'Instance', namespace: 'default', name: 'later' };
    const watchingLater = nextWatch();
    const appearing = berth(['wait', 'inst/later', '--for=condition=Ready', '--timeout=5s']);
    await watchingLater;
    await h.deps.apiSource.apply(InstanceSchema.parse(JSON.parse(JSON.stringify({ apiVersion: 'berth.dev/v1alpha1', kind: 'Instance', metadata: { name: 'later', namespace: 'default' }, spec: { image: 'x' } }))));
    h.deps.store.setStatus(NEW, readyStatus('True'));
    expect(await appearing).toMatchObject({ code: 0, out: 'instance.berth.dev/later condition met\n' });
    const watchingWeb = nextWatch();
    const running = berth(['wait', 'inst', 'web', '--for=delete', '--timeout=5s']);
    await watchingWeb;
    const deleted = h.deps.apiSource.delete(WEB);
    expect(await running).toMatchObject({ code: 0, out: 'instance.berth.dev/web condition met\n' });
    expect(await deleted).toBe(true);
  });
});

describe('validate (offline)', () => {
  it('prints N resources valid', async () => {
    await file('ok/a.yaml', instanceYaml('a'));
    await file('ok/b.yaml', `${instanceYaml('b')}---\n${instanceYaml('c')}`);
    const io = captureIo();
    const code = await run(['validate', '-f', join(dir, 'ok')], COMMANDS, io, 'user');
    expect(code).toBe(0);
    expect(io.stdout).toBe('3 resources valid\n');
  });

  it('prints every error with file:line and path and exits 1', async () => {
    const f = await file('bad.yaml', instanceYaml('Bad_Name', 'nginx', '  restartPolicy: Sometimes\n'));
    const io = captureIo();
    const code = await run(['validate', '-f', f], COMMANDS, io, 'user');
    expect(code).toBe(1);
    expect(io.stdout).toMatch(new RegExp(`^${f}:4 metadata\\.name: invalid name "Bad_Name"`, 'm'));
    expect(io.stdout).toMatch(new RegExp(`^${f}:7 spec\\.restartPolicy: invalid value "Sometimes"`, 'm'));
    expect(io.stderr).toBe('2 errors; 0 resources valid\n');
  });
});

describe('exec and logs', () => {
  const runtime = {
    exec: async (_id: string, req: { command: string[]; timeoutMs: number }) =>
      req.command[0] === 'sleep'
        ? { exitCode: 137, stdout: '', stderr: '', durationMs: req.timeoutMs, timedOut: true, truncated: false }
        : { exitCode: 3, stdout: `ran ${req.command.join(' ')} in ${req.timeoutMs}ms\n`, stderr: 'oops\n', durationMs: 5, timedOut: false, truncated: false },
    logs: async (_id: string, o: { tail?: number; follow?: boolean }) => Readable.from([Buffer.from(`tail=${o.tail} follow=${o.follow}\n`)]),
  };

  beforeEach(async () => {
    h = await startHarness({ runtime });
    await berth(['apply', '-f', '-'], captureIo(instanceYaml('web')));
  });

  it('exec needs a running container', async () => {
    const r = await berth(['exec', 'web', '--', 'ls']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^Error from server \(Conflict\): instance has no running container/);
  });

  it('exec prints both streams and exits with the command exit code (124 on timeout)', async () => {
    h.deps.store.setStatus(WEB, readyStatus('True'));
    expect(await berth(['exec', 'web', '--timeout', '5s', '--', 'ls', '-la'])).toEqual({ code: 3, out: 'ran ls -la in 5000ms\n', err: 'oops\n' });
    const slow = await berth(['exec', 'web', '--timeout', '1', '--', 'sleep', '5']);
    expect(slow.code).toBe(124);
    expect(slow.err).toBe('berth: command timed out after 1s and was killed\n');
    expect((await berth(['exec', 'web'])).err).toBe('error: give the command after --: berth exec web -- CMD [ARGS...]\n');
  });

  it('logs streams the output', async () => {
    h.deps.store.setStatus(WEB, readyStatus('True'));
    expect(await berth(['logs', 'web', '--tail', '20', '-f'])).toEqual({ code: 0, out: 'tail=20 follow=true\n', err: '' });
  });
});

describe('events, claim, release', () => {
  it('lists events', async () => {
    h = await startHarness();
    h.deps.recorder.record({ type: 'Warning', reason: 'BackOff', message: 'restarting', involvedObject: { kind: 'Instance', namespace: 'default', name: 'web' } });
    const r = await berth(['events']);
    expect(r.out).toMatch(/^LAST SEEN +TYPE +REASON +OBJECT +MESSAGE\n\d+s +Warning +BackOff +instance\/web +restarting\n$/);
    expect((await berth(['events', '-n', 'other'])).err).toBe('No events found in other namespace.\n');
  });

  it('claims (POST of an InstanceClaim) and releases', async () => {
    h = await startHarness();
    const now = await berth(['claim', 'py', '--wait', '0', '--ttl', '2m', '--name', 'job-1']);
    expect(now).toMatchObject({ code: 0, out: 'instanceclaim.berth.dev/job-1 created (Pending)\n' });
    expect(h.deps.store.get({ kind: 'InstanceClaim', namespace: 'default', name: 'job-1' })?.resource.spec).toEqual({ poolRef: { name: 'py' }, ttlSeconds: 120 });

    const claimWaits = nextWatch();
    const waiting = berth(['claim', 'py', '--wait', '5s', '--name', 'job-2']);
    await claimWaits;
    h.deps.store.setStatus({ kind: 'InstanceClaim', namespace: 'default', name: 'job-2' }, { phase: 'Bound', instance: 'py-7f3a', containerId: 'abcdef0123456789' });
    expect(await waiting).toMatchObject({ code: 0, out: 'instanceclaim.berth.dev/job-2 bound to instance py-7f3a (container abcdef012345)\n' });

    const timedOut = await berth(['claim', 'py', '--wait', '200ms', '--name', 'job-3']);
    expect(timedOut.code).toBe(1);
    expect(timedOut.err).toMatch(/^error: not bound within 200ms: no free member of pool py yet\n {2}it stays queued/);

    // A pool that does not exist is not a busy one: the claim's condition says which.
    const ghostWaits = nextWatch();
    const ghost = berth(['claim', 'ghost', '--wait', '1s', '--name', 'job-4']);
    await ghostWaits;
    h.deps.store.setStatus({ kind: 'InstanceClaim', namespace: 'default', name: 'job-4' }, { phase: 'Pending', conditions: [{ type: 'Bound', status: 'False', reason: 'PoolNotFound', message: 'pool ghost does not exist (yet)', lastTransitionTime: new Date().toISOString() }] });
    const ghostOut = await ghost;
    expect(ghostOut.code).toBe(1);
    expect(ghostOut.err).toMatch(/^error: not bound within 1s: pool ghost does not exist \(yet\)\n {2}it stays queued/);

    const failedWaits = nextWatch();
    const failed = berth(['claim', 'py', '--wait', '1s', '--name', 'job-5']);
    await failedWaits;
    h.deps.store.setStatus({ kind: 'InstanceClaim', namespace: 'default', name: 'job-5' }, { phase: 'Failed', conditions: [{ type: 'Bound', status: 'False', reason: 'ClaimTimeout', message: 'no warm member of pool py became free within 30s', lastTransitionTime: new Date().toISOString() }] });
    expect((await failed).err).toMatch(/^error: claim is Failed \(ClaimTimeout: no warm member of pool py became free within 30s\)\n {2}see: berth describe claim job-5/);

    expect(await berth(['release', 'job-1'])).toMatchObject({ code: 0, out: 'instanceclaim.berth.dev/job-1 released\n' });
    expect(await berth(['release', 'claim/job-1'])).toMatchObject({ code: 1, err: 'Error from server (NotFound): instanceclaims.berth.dev "job-1" not found\n' });
  });
});

describe('connection and auth', () => {
  it('exit 3 with how to start the controller when nothing listens', async () => {
    h = await startHarness();
    const base = h.base;
    await h.api.close();
    const io = captureIo();
    const code = await run(['get', 'inst', '--server', base], COMMANDS, io, 'user');
    expect(code).toBe(3);
    expect(io.stderr).toBe(`error: cannot reach the berth controller at ${base} — start it with: berth controller --specs ./examples\n`);
  });

  it('sends the token from --token-file', async () => {
    h = await startHarness({ token: 'abc123' });
    const tokenFile = await file('token', 'abc123\n');
    expect((await berth(['get', 'inst'])).code).toBe(1);
    expect(await berth(['get', 'inst', '--token-file', tokenFile])).toMatchObject({ code: 0, err: 'No resources found in default namespace.\n' });
    expect((await berth(['--token-file', tokenFile, 'get', 'inst'])).code).toBe(0);
    expect(await berth(['get', 'inst', '--token-file', join(dir, 'missing')])).toMatchObject({ code: 1, err: `error: cannot read token file ${join(dir, 'missing')}: no such file\n` });
  });
});
