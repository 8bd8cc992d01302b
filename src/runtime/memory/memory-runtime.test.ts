import { describe, expect, it } from 'vitest';
import { FakeClock, flushMicrotasks } from '../../time/clock.js';
import { isRuntimeError } from '../errors.js';
import { contractRequest, createOnly, describeRuntimeContract } from '../runtime-contract.testkit.js';
import type { RuntimeEvent } from '../types.js';
import { packTarEntries, readTarEntries } from '../../archive/tar-entries.js';
import { MemoryRuntime } from './memory-runtime.js';

const IMAGE = 'berth-test/busybox:1';

describeRuntimeContract('memory', async () => {
  const clock = new FakeClock(Date.UTC(2026, 0, 1));
  return { runtime: new MemoryRuntime({ clock }), controllerId: 'berth-test-memory', image: IMAGE, cleanup: async () => undefined, tick: () => clock.advanceAsync(100) };
});

function setup(opts: ConstructorParameters<typeof MemoryRuntime>[0] = {}) {
  const clock = new FakeClock(1_000_000);
  const runtime = new MemoryRuntime({ clock, ...opts });
  const events: RuntimeEvent[] = [];
  const stop = new AbortController();
  runtime.events((e) => events.push(e), stop.signal);
  const create = (owner: string, template: Record<string, unknown> = {}) => createOnly(runtime, contractRequest('m', owner, { image: IMAGE, ...template }, { createdAt: 5 }));
  return { clock, runtime, events, stop, create };
}

describe('MemoryRuntime knobs', () => {
  it("a subscriber filtered by controller hears only that controller's containers", async () => {
    const { runtime, events } = setup();
    const mine: RuntimeEvent[] = [];
    runtime.events((e) => mine.push(e), new AbortController().signal, undefined, { managedBy: 'a' });
    const a = await createOnly(runtime, contractRequest('a', 'web', { image: IMAGE }));
    const b = await createOnly(runtime, contractRequest('b', 'web', { image: IMAGE }));
    await runtime.relaunch(a);
    await runtime.relaunch(b);
    await flushMicrotasks();
    await new Promise((r) => setImmediate(r));
    expect(events.map((e) => e.containerId)).toEqual([a, b]);
    expect(mine.map((e) => e.containerId)).toEqual([a]);
  });

  it('stamps times from the clock; a container ignoring SIGTERM is killed after the grace period on the clock', async () => {
    const { clock, runtime, create, events } = setup();
    runtime.behave({ owner: 'web' }, { ignoresTerm: true });
    const id = await create('web');
    clock.advance(10);
    await runtime.relaunch(id);
    expect((await runtime.inspect(id)).startedAt).toBe(1_000_010);
    let stopped = false;
    const stopping = runtime.halt(id, 3).then(() => (stopped = true));
    await clock.advanceAsync(2_999);
    expect(stopped).toBe(false);
    expect((await runtime.inspect(id)).state).toBe('running');
    await clock.advanceAsync(1);
    await stopping;
    expect(await runtime.inspect(id)).toMatchObject({ state: 'exited', exitCode: 137, finishedAt: 1_003_010 });
    expect(events.filter((e) => e.containerId === id).map((e) => e.action)).toEqual(['start', 'die', 'stop']);
  });

  it('a scripted exit after a run time, and exit() on demand, with oom', async () => {
    const { clock, runtime, create, events } = setup();
    runtime.behave({ name: /-job$/ }, { exitAfterMs: 500, exitCode: 2 });
    const job = await create('job');
    await runtime.relaunch(job);
    await clock.advanceAsync(499);
    expect((await runtime.inspect(job)).state).toBe('running');
    await clock.advanceAsync(1);
    expect(await runtime.inspect(job)).toMatchObject({ state: 'exited', exitCode: 2 });
    const web = await create('web');
    await runtime.relaunch(web);
    runtime.exit(web, 137, { oomKilled: true });
    expect(await runtime.inspect(web)).toMatchObject({ state: 'exited', exitCode: 137, oomKilled: true });
    await flushMicrotasks();
    expect(events.filter((e) => e.containerId === web).map((e) => e.action)).toEqual(['start', 'oom', 'die']);
  });

  it('a restart cancels the exit timer of the previous run', async () => {
    const { clock, runtime, create } = setup();
    runtime.behave({ owner: 'job' }, { exitAfterMs: 500, exitCode: 1 });
    const id = await create('job');
    await runtime.relaunch(id);
    await clock.advanceAsync(400);
    await runtime.halt(id, 0);
    await runtime.relaunch(id);
    await clock.advanceAsync(200); // 600 ms after the first start, 200 after the second
    expect((await runtime.inspect(id)).state).toBe('running');
    await clock.advanceAsync(300);
    expect(await runtime.inspect(id)).toMatchObject({ state: 'exited', exitCode: 1 });
  });

  it('exec answers from the container behaviour, then the runtime-wide handler, with the timeout on the clock', async () => {
    const { clock, runtime, create } = setup();
    const a = await create('a');
    const b = await create('b');
    await runtime.relaunch(a);
    await runtime.relaunch(b);
    runtime.behave({ owner: 'a' }, { exec: () => ({ exitCode: 0, stdout: 'OK\n' }) });
    runtime.onExec((req) => (req.command[0] === 'hang' ? new Promise(() => undefined) : { exitCode: 1, stderr: 'probe failed' }));
    expect(await runtime.exec(a, { command: ['python', '-c', 'print("OK")'], timeoutMs: 1000 })).toMatchObject({ exitCode: 0, stdout: 'OK\n' });
    expect(await runtime.exec(b, { command: ['x'], timeoutMs: 1000 })).toMatchObject({ exitCode: 1, stderr: 'probe failed' });
    const hung = runtime.exec(b, { command: ['hang'], timeoutMs: 2000 });
    await clock.advanceAsync(2000);
    expect(await hung).toMatchObject({ timedOut: true, exitCode: 137, durationMs: 2000 });
    const capped = await runtime.exec(a, { command: ['python'], timeoutMs: 1000, outputCapBytes: 1 });
    expect(capped).toMatchObject({ stdout: 'O', truncated: true });
  });

  it('an operation fails as scripted, for one container or n times', async () => {
    const { runtime, create } = setup();
    const id = await create('web');
    runtime.script.fail('start', new Error('engine said no'), { target: 'elsewhere' });
    await runtime.relaunch(id);
    runtime.script.fail('list', new Error('engine down'), { times: 2 });
    await expect(runtime.list({ managedBy: 'm' })).rejects.toThrow('engine down');
    await expect(runtime.list({ managedBy: 'm' })).rejects.toThrow('engine down');
    expect(await runtime.list({ managedBy: 'm' })).toHaveLength(1);
    expect(runtime.script.count('list')).toBe(3);
  });

  it('a held operation waits until released, and honours the AbortSignal meanwhile', async () => {
    const { runtime, create } = setup();
    const id = await create('web');
    const hold = runtime.script.hold('start');
    let started = false;
    const starting = runtime.relaunch(id).then(() => (started = true));
    await hold.reached;
    await flushMicrotasks();
    expect(started).toBe(false);
    const aborted = new AbortController();
    const other = runtime.relaunch(id, aborted.signal);
    aborted.abort(new Error('shutting down'));
    await expect(other).rejects.toThrow('shutting down');
    hold.release();
    await starting;
    expect((await runtime.inspect(id)).state).toBe('running');
    await expect(runtime.list({ managedBy: 'm' }, AbortSignal.abort())).rejects.toThrow();
  });

  it('images: Never refuses a missing one; IfNotPresent pulls what the registry has; create of a missing image fails', async () => {
    const { runtime } = setup({ images: ['present:1'], registry: ['remote:1'] });
    await runtime.ensureImage('present:1', 'Never');
    const never = await runtime.ensureImage('remote:1', 'Never').catch((e: unknown) => e);
    expect(isRuntimeError(never, 'ImagePullFailed')).toBe(true);
    const missing = await createOnly(runtime, contractRequest('m', 'x', { image: 'remote:1' })).catch((e: unknown) => e);
    expect(isRuntimeError(missing, 'ImagePullFailed')).toBe(true);
    await runtime.ensureImage('remote:1', 'IfNotPresent');
    await createOnly(runtime, contractRequest('m', 'x', { image: 'remote:1' }));
    expect(isRuntimeError(await runtime.ensureImage('absent:1', 'IfNotPresent').catch((e: unknown) => e), 'ImagePullFailed')).toBe(true);
  });

  it('archives: putArchive, statPath and getArchive round-trip', async () => {
    const { runtime, create } = setup();
    const id = await create('web');
    const mtime = new Date(1_700_000_000_000);
    await runtime.putArchive(id, '/tmp', await packTarEntries([
      { path: 'd', type: 'directory', mode: 0o755, mtime, data: Buffer.alloc(0) },
      { path: 'd/a.txt', type: 'file', mode: 0o640, mtime, data: Buffer.from('hello\n') },
    ]));
    expect(await runtime.statPath(id, '/tmp/d/a.txt')).toEqual({ type: 'file', size: 6 });
    expect(await runtime.statPath(id, '/tmp/none')).toBeUndefined();
    const back = await readTarEntries(await runtime.getArchive(id, '/tmp/d', 1 << 20), { maxBytes: 1 << 20, what: 'x' });
    expect(back.map((e) => [e.path, e.data.toString()])).toEqual([['d', ''], ['d/a.txt', 'hello\n']]);
    expect(isRuntimeError(await runtime.getArchive(id, '/tmp/none', 1 << 20).catch((e: unknown) => e), 'NotFound')).toBe(true);
  });

  it('events arrive after the call returned, and stop when the signal aborts', async () => {
    const { runtime, create, events, stop } = setup();
    const id = await create('web');
    await runtime.relaunch(id);
    expect(events).toEqual([]);
    await flushMicrotasks();
    expect(events.map((e) => e.action)).toEqual(['start']);
    stop.abort();
    await runtime.retire(id, 0);
    await flushMicrotasks();
    expect(events.map((e) => e.action)).toEqual(['start']);
  });

  it('logs: what the process printed, with tail', async () => {
    const { runtime, create } = setup();
    const id = await create('web');
    runtime.print(id, 'one\ntwo\n');
    const read = async (tail?: number) => {
      let s = '';
      for await (const chunk of await runtime.logs(id, tail === undefined ? {} : { tail })) s += String(chunk);
      return s;
    };
    expect(await read()).toBe('one\ntwo\n');
    expect(await read(1)).toBe('two\n');
    expect(await read(0)).toBe('');
  });
});
