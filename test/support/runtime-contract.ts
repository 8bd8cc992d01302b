// The engine-level behaviour every real Runtime must show (signals, stdin,
// output caps, archives, logs, images), run against Docker and Kubernetes
// (test/runtime-docker.test.ts, test/runtime-kubernetes.test.ts); the core
// contract the in-memory runtime passes too is describeRuntimeContract
// (src/runtime/runtime-contract.testkit.ts). Tests run in
// order on a few shared containers, so the suite stays small: three
// containers in all. ContractOptions name the few behaviours a runtime may
// lack by its nature; their defaults are the Docker engine's.
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContainerTemplateSchema } from '../../src/spec/schema.js';
import { contractRequest, createOnly } from '../../src/runtime/runtime-contract.testkit.js';
import { effectiveTemplate } from '../../src/spec/policy.js';
import { configHash, HASH_VERSION } from '../../src/spec/hash.js';
import { isRuntimeError } from '../../src/runtime/errors.js';
import { ArchiveLimitError } from '../../src/archive/limits.js';
import { packTarEntries, readTarEntries } from '../../src/archive/tar-entries.js';
import { LABEL, type ObservedContainer, type Runtime, type RuntimeEvent } from '../../src/runtime/types.js';
import { TEST_IMAGE } from './engine.js';
import { noEngine, noKube } from './provided.js';

export interface ContractSubject {
  runtime: Runtime;
  /** The managed-by value of this run; cleanup removes what carries it. */
  controllerId: string;
  cleanup: () => Promise<void>;
  /** An image with busybox (sh, sleep, ps, grep, kill, head, tr); default TEST_IMAGE. */
  image?: string;
}

/** What a runtime shows by its nature; the defaults are the Docker engine's (the strictest). */
export interface ContractOptions {
  /** The suite needs a Docker engine (skipped without one outside CI). Default true. */
  needsDockerEngine?: boolean;
  /** The suite needs the Kubernetes test cluster (skipped without one outside CI). Default false. */
  needsKube?: boolean;
  /** create also starts the container (a Kubernetes Pod runs as soon as it can): right after create, list may report running. Default false. */
  createStarts?: boolean;
  /** ensureImage can tell a missing image (the engine holds images; a kubelet pulls on its node). Default true. */
  checksImages?: boolean;
}

// The request builder is shared with the core contract (src/runtime/runtime-contract.testkit.ts),
// which every runtime, the in-memory one included, passes.
export { contractRequest, createOnly, describeRuntimeContract, type RequestOptions } from '../../src/runtime/runtime-contract.testkit.js';

export async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of Readable.from(stream as AsyncIterable<Buffer | string>)) text += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
  return text;
}

/** Polls until `check` returns a value (not undefined), or fails after timeoutMs. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const byId = (list: ObservedContainer[], id: string): ObservedContainer | undefined => list.find((c) => c.id === id);

export function runtimeContract(name: string, makeRuntime: () => Promise<ContractSubject>, options: ContractOptions = {}): void {
  const caps = { needsDockerEngine: true, needsKube: false, createStarts: false, checksImages: true, ...options };
  describe.skipIf((caps.needsDockerEngine && noEngine()) || (caps.needsKube && noKube()))(`Runtime contract: ${name}`, () => {
    let subject: ContractSubject;
    let runtime: Runtime;
    let managedBy: string;
    let image: string;
    const events: RuntimeEvent[] = [];
    const eventErrors: Error[] = [];
    const stopEvents = new AbortController();
    // alpha: the default keep-running command; beta: logs, exits 3 on SIGTERM;
    // gamma: a pool member that ignores SIGTERM (killed after the grace period).
    const ids = { alpha: '', beta: '', gamma: '' };
    const createdAt = Date.UTC(2026, 0, 2, 3, 4, 5);

    beforeAll(async () => {
      subject = await makeRuntime();
      runtime = subject.runtime;
      managedBy = subject.controllerId;
      image = subject.image ?? TEST_IMAGE;
      await runtime.ensureImage(image, 'IfNotPresent');
      // Subscribed first, so it is live before the events these tests cause.
      runtime.events((e) => events.push(e), stopEvents.signal, (e) => eventErrors.push(e));
    });

    afterAll(async () => {
      stopEvents.abort();
      await subject?.cleanup();
    });

    it('creates containers with labels that list() decodes, in one call', async () => {
      ids.alpha = await createOnly(runtime, contractRequest(managedBy, 'alpha', { image, stopGracePeriodSeconds: 2 }, { createdAt }));
      ids.beta = await createOnly(runtime, 
        contractRequest(managedBy, 'beta', {
          image,
          args: ['sh', '-c', 'echo hello-out; echo hello-err >&2; trap "exit 3" TERM; while :; do sleep 1 & wait $!; done'],
        }),
      );
      ids.gamma = await createOnly(runtime, 
        contractRequest(managedBy, 'gamma', { image, args: ['sh', '-c', 'trap "" TERM; while :; do sleep 1; done'], stopGracePeriodSeconds: 1 }, { kind: 'InstancePool', member: 'm1' }),
      );
      const listed = await runtime.list({ managedBy });
      expect(listed.map((c) => c.id).sort()).toEqual(Object.values(ids).sort());
      const alpha = byId(listed, ids.alpha)!;
      const expectedHash = configHash(effectiveTemplate(ContainerTemplateSchema.parse({ image, stopGracePeriodSeconds: 2 })));
      expect(alpha).toMatchObject({
        name: `${managedBy}-alpha`,
        managedBy,
        kind: 'Instance',
        namespace: 'default',
        owner: 'alpha',
        configHash: expectedHash.hash,
        hashVersion: HASH_VERSION,
        configFields: expectedHash.fields,
        createdAt,
        hostPorts: [],
      });
      for (const c of listed) expect(caps.createStarts ? ['created', 'running'] : ['created']).toContain(c.state);
      expect(alpha.labels[LABEL.managedBy]).toBe(managedBy);
      expect(alpha.member).toBeUndefined();
      expect(byId(listed, ids.gamma)).toMatchObject({ kind: 'InstancePool', owner: 'gamma', member: 'm1' });
    });

    it('a second create with a taken name is Conflict', async () => {
      const err = await createOnly(runtime, contractRequest(managedBy, 'alpha', { image })).catch((e: unknown) => e);
      expect(isRuntimeError(err, 'Conflict')).toBe(true);
    });

    it('starts containers; starting a running one again is success', async () => {
      for (const id of Object.values(ids)) await runtime.relaunch(id);
      await runtime.relaunch(ids.alpha);
      const listed = await runtime.list({ managedBy });
      expect(listed.map((c) => c.state)).toEqual(['running', 'running', 'running']);
      const inspected = await runtime.inspect(ids.alpha);
      expect(inspected.state).toBe('running');
      expect(inspected.startedAt).toBeGreaterThan(Date.now() - 60_000);
    });

    it('list filters by kind, namespace and name', async () => {
      expect((await runtime.list({ managedBy, name: 'beta' })).map((c) => c.id)).toEqual([ids.beta]);
      expect((await runtime.list({ managedBy, kind: 'InstancePool' })).map((c) => c.id)).toEqual([ids.gamma]);
      expect(await runtime.list({ managedBy, namespace: 'elsewhere' })).toEqual([]);
      expect(await runtime.list({ managedBy: `${managedBy}-other` })).toEqual([]);
    });

    it('exec separates stdout and stderr and reports the exit code', async () => {
      const r = await runtime.exec(ids.alpha, { command: ['sh', '-c', 'echo out; echo err >&2; exit 7'], timeoutMs: 10_000 });
      expect(r).toMatchObject({ exitCode: 7, stdout: 'out\n', stderr: 'err\n', timedOut: false, truncated: false });
      expect(r.durationMs).toBeGreaterThanOrEqual(0);
      expect((await runtime.exec(ids.alpha, { command: ['true'], timeoutMs: 10_000 })).exitCode).toBe(0);
    });

    it('exec passes stdin and closes it', async () => {
      const r = await runtime.exec(ids.alpha, { command: ['sh', '-c', 'cat; echo done'], stdin: 'line one\nline two\n', timeoutMs: 10_000 });
      expect(r).toMatchObject({ exitCode: 0, stdout: 'line one\nline two\ndone\n', stderr: '' });
      const empty = await runtime.exec(ids.alpha, { command: ['wc', '-c'], stdin: '', timeoutMs: 10_000 });
      expect({ ...empty, stdout: empty.stdout.trim() }).toMatchObject({ exitCode: 0, stdout: '0', timedOut: false });
    });

    it('exec timeout kills the process tree', async () => {
      const began = Date.now();
      const r = await runtime.exec(ids.alpha, { command: ['sh', '-c', 'sleep 31 & sleep 32; echo never'], timeoutMs: 1_000 });
      const elapsed = Date.now() - began;
      expect(r.timedOut).toBe(true);
      expect(r.stdout).not.toContain('never');
      expect(r.exitCode).not.toBe(0);
      expect(elapsed).toBeGreaterThanOrEqual(1_000);
      expect(elapsed).toBeLessThan(3_000);
      const ps = await runtime.exec(ids.alpha, { command: ['ps', '-o', 'pid,args'], timeoutMs: 10_000 });
      expect(ps.exitCode).toBe(0);
      expect(ps.stdout).not.toMatch(/sleep 3[12]/);
    });

    it('exec caps each stream and says so', async () => {
      const r = await runtime.exec(ids.alpha, {
        command: ['sh', '-c', 'head -c 100000 /dev/zero | tr "\\0" a; echo short >&2'],
        timeoutMs: 10_000,
        outputCapBytes: 1000,
      });
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toBe('a'.repeat(1000));
      expect(r.stderr).toBe('short\n');
      expect(r.truncated).toBe(true);
    });

    it('archives: putArchive unpacks a tar into a directory, statPath tells what is there, getArchive brings it back byte for byte', async () => {
      const dir = `/tmp/berth-cp-${managedBy}`;
      expect((await runtime.exec(ids.alpha, { command: ['mkdir', '-p', dir], timeoutMs: 10_000 })).exitCode).toBe(0);
      const binary = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7 + (i >> 8)) & 0xff));
      const sent = [
        { path: 'tree', type: 'directory' as const, mode: 0o755, mtime: new Date(1_700_000_000_000), data: Buffer.alloc(0) },
        { path: 'tree/bin.dat', type: 'file' as const, mode: 0o640, mtime: new Date(1_700_000_000_000), data: binary },
        { path: 'tree/sub', type: 'directory' as const, mode: 0o750, mtime: new Date(1_700_000_000_000), data: Buffer.alloc(0) },
        { path: 'tree/sub/a.txt', type: 'file' as const, mode: 0o600, mtime: new Date(1_700_000_000_000), data: Buffer.from('hello\n') },
        { path: 'tree/sub/link', type: 'symlink' as const, mode: 0o777, mtime: new Date(1_700_000_000_000), data: Buffer.alloc(0), linkname: 'a.txt' },
      ];
      await runtime.putArchive(ids.alpha, dir, await packTarEntries(sent));
      expect(await runtime.statPath(ids.alpha, `${dir}/tree`)).toMatchObject({ type: 'directory' });
      expect(await runtime.statPath(ids.alpha, `${dir}/tree/sub/a.txt`)).toMatchObject({ type: 'file' });
      expect(await runtime.statPath(ids.alpha, `${dir}/tree/sub/link`)).toMatchObject({ type: 'symlink' });
      expect(await runtime.statPath(ids.alpha, `${dir}/absent`)).toBeUndefined();
      const sum = await runtime.exec(ids.alpha, { command: ['sh', '-c', `cat ${dir}/tree/sub/link; wc -c < ${dir}/tree/bin.dat`], timeoutMs: 10_000 });
      expect(sum.stdout.replace(/ +/g, '')).toBe('hello\n70000\n');

      const back = await readTarEntries(await runtime.getArchive(ids.alpha, `${dir}/tree`, 1024 * 1024), { maxBytes: 1024 * 1024, what: 'the archive' });
      const byPath = new Map(back.map((e) => [e.path, e]));
      expect([...byPath.keys()].sort()).toEqual(sent.map((e) => e.path).sort());
      expect(byPath.get('tree/bin.dat')!.data.equals(binary)).toBe(true);
      expect(byPath.get('tree/bin.dat')!.mode).toBe(0o640);
      expect(byPath.get('tree/sub/a.txt')!.data.toString()).toBe('hello\n');
      expect(byPath.get('tree/sub/link')).toMatchObject({ type: 'symlink', linkname: 'a.txt' });
      const single = await readTarEntries(await runtime.getArchive(ids.alpha, `${dir}/tree/sub/a.txt`, 1024 * 1024), { maxBytes: 1024 * 1024, what: 'the archive' });
      expect(single.map((e) => [e.path, e.data.toString()])).toEqual([['a.txt', 'hello\n']]);
    });

    it('archives: more than maxBytes is an ArchiveLimitError; a missing path NotFound', async () => {
      const dir = `/tmp/berth-cp-${managedBy}`;
      const big = await runtime.getArchive(ids.alpha, `${dir}/tree`, 10_000).catch((e: unknown) => e);
      expect(big).toBeInstanceOf(ArchiveLimitError);
      expect((big as Error).message).toMatch(/larger than the limit/);
      const missing = await runtime.getArchive(ids.alpha, `${dir}/absent`, 10_000).catch((e: unknown) => e);
      expect(isRuntimeError(missing, 'NotFound'), String(missing)).toBe(true);
      await runtime.exec(ids.alpha, { command: ['rm', '-rf', dir], timeoutMs: 10_000 });
    });

    it('logs return what the container printed, stdout and stderr', async () => {
      const text = await eventually('beta logs', async () => {
        const t = await readAll(await runtime.logs(ids.beta, {}));
        return t.includes('hello-err') ? t : undefined;
      });
      expect(text).toContain('hello-out\n');
      expect(text).toContain('hello-err\n');
      expect(await readAll(await runtime.logs(ids.beta, { tail: 0 }))).toBe('');
    });

    it('stop lets a container exit on SIGTERM, and list reports its exit', async () => {
      const began = Date.now();
      await runtime.halt(ids.beta, 10);
      expect(Date.now() - began).toBeLessThan(5_000);
      const beta = byId(await runtime.list({ managedBy }), ids.beta)!;
      expect(beta).toMatchObject({ state: 'exited', exitCode: 3, oomKilled: false, hostPorts: [] });
      expect(beta.startedAt).toBeGreaterThan(0);
      expect(beta.finishedAt).toBeGreaterThanOrEqual(beta.startedAt!);
      await runtime.halt(ids.beta, 10); // stopping a stopped container is success
    });

    it('stop kills a container that ignores SIGTERM once the grace period is over', async () => {
      const began = Date.now();
      await runtime.halt(ids.gamma, 1);
      const elapsed = Date.now() - began;
      expect(elapsed).toBeGreaterThanOrEqual(900);
      expect(elapsed).toBeLessThan(8_000);
      expect(byId(await runtime.list({ managedBy }), ids.gamma)).toMatchObject({ state: 'exited', exitCode: 137 });
    });

    it('events deliver start and die of managed containers, with their labels', async () => {
      const die = await eventually('a die event for gamma', () => events.find((e) => e.action === 'die' && e.containerId === ids.gamma));
      expect(die.labels[LABEL.managedBy]).toBe(managedBy);
      expect(die.labels[LABEL.name]).toBe('gamma');
      expect(die.time).toBeGreaterThan(Date.now() - 120_000);
      expect(events.some((e) => e.action === 'start' && e.containerId === ids.alpha)).toBe(true);
      expect(events.every((e) => e.labels[LABEL.managedBy] !== undefined)).toBe(true);
      expect(eventErrors).toEqual([]);
    });

    it('stop of a missing container is NotFound', async () => {
      const err = await runtime.halt('0'.repeat(64), 1).catch((e: unknown) => e);
      expect(isRuntimeError(err, 'NotFound')).toBe(true);
    });

    it('remove deletes the container; removing a missing one is success', async () => {
      await runtime.retire(ids.beta, 0);
      expect(byId(await runtime.list({ managedBy }), ids.beta)).toBeUndefined();
      await runtime.retire(ids.beta, 0);
      await runtime.retire('0'.repeat(64), 0);
      await runtime.retire(ids.alpha, 0); // running: removed by force
      expect((await runtime.list({ managedBy })).map((c) => c.id)).toEqual([ids.gamma]);
    });

    it.skipIf(!caps.checksImages)('ensureImage: a missing image with Never or IfNotPresent (no registry here) is ImagePullFailed with a clear message', async () => {
      const missing = `berth-test/absent-${Math.random().toString(36).slice(2, 8)}:1`;
      const never = await runtime.ensureImage(missing, 'Never').catch((e: unknown) => e);
      expect(isRuntimeError(never, 'ImagePullFailed')).toBe(true);
      expect((never as Error).message).toContain(missing);
      expect((never as Error).message).toMatch(/Never/);
      const ifNotPresent = await runtime.ensureImage(missing, 'IfNotPresent').catch((e: unknown) => e);
      expect(isRuntimeError(ifNotPresent, 'ImagePullFailed')).toBe(true);
      expect((ifNotPresent as Error).message).toContain(missing);
      await runtime.ensureImage(image, 'Never'); // present: fine without a registry
    });

    it('ping answers', async () => {
      await runtime.ping();
    });
  });
}
