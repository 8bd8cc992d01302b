import { describe, expect, it } from 'vitest';
import { RuntimeError, isRuntimeError } from '../errors.js';
import { dockerCall, engineMessage, isDeadlineError, toRuntimeError } from './call.js';

// Errors shaped as docker-modem builds them: message, statusCode, json.
function modemError(statusCode: number, message: string): Error {
  return Object.assign(new Error(`(HTTP code ${statusCode}) unexpected - ${message} `), { statusCode, json: { message } });
}
const socketError = (code: string): Error => Object.assign(new Error(`connect ${code} /var/run/docker.sock`), { code });

describe('toRuntimeError', () => {
  it.each([
    [modemError(404, 'No such container: abc'), 'NotFound'],
    [modemError(409, 'Conflict. The container name "/x" is already in use'), 'Conflict'],
    [modemError(304, ''), 'AlreadyDone'],
    [modemError(400, 'invalid reference format'), 'Invalid'],
    [modemError(404, 'No such image: nope:1'), 'ImagePullFailed'],
    [modemError(500, 'No such image: nope:1'), 'ImagePullFailed'],
    [modemError(503, 'busy'), 'Unavailable'],
    [modemError(500, 'driver failed programming external connectivity'), 'Unknown'],
    [socketError('ECONNREFUSED'), 'Unavailable'],
    [socketError('ENOENT'), 'Unavailable'],
    [socketError('EACCES'), 'Unavailable'],
    [Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), 'Unavailable'],
    [new Error('something else'), 'Unknown'],
  ])('%s -> %s', (err, code) => {
    const mapped = toRuntimeError('op', err);
    expect(mapped.code).toBe(code);
    expect(mapped.cause).toBe(err);
    expect(mapped.message.startsWith('docker op: ')).toBe(true);
  });

  it("uses the engine's message, without docker-modem's prefix", () => {
    expect(toRuntimeError('stop', modemError(404, 'No such container: abc')).message).toBe('docker stop: No such container: abc');
    expect(engineMessage(Object.assign(new Error('(HTTP code 500) server error - boom '), { statusCode: 500 }))).toBe('boom');
    expect(toRuntimeError('list', socketError('ENOENT')).message).toBe('docker list: connect ENOENT /var/run/docker.sock (ENOENT)');
  });

  it('passes a RuntimeError through', () => {
    const e = new RuntimeError('Conflict', 'x');
    expect(toRuntimeError('op', e)).toBe(e);
  });
});

describe('dockerCall', () => {
  it('returns the result and hands the call a signal', async () => {
    let seen: AbortSignal | undefined;
    expect(await dockerCall('op', 1_000, undefined, async (s) => ((seen = s), 42))).toBe(42);
    expect(seen?.aborted).toBe(false);
  });

  it('a call that never settles is Unavailable at the deadline, and its signal is aborted', async () => {
    let seen: AbortSignal | undefined;
    const began = Date.now();
    const err = await dockerCall('list', 50, undefined, (s) => ((seen = s), new Promise<never>(() => undefined))).catch((e: unknown) => e);
    expect(isRuntimeError(err, 'Unavailable')).toBe(true);
    expect(isDeadlineError(err)).toBe(true);
    expect((err as Error).message).toBe('docker list: the engine did not answer within 50 ms (wedged or unreachable)');
    expect(seen?.aborted).toBe(true);
    expect(Date.now() - began).toBeLessThan(1_000);
  });

  it("the caller's abort rethrows the caller's reason, not a RuntimeError", async () => {
    const ac = new AbortController();
    const reason = new Error('shutting down');
    // Aborted while the call is in flight (the engine never answers).
    const inFlight = () => {
      queueMicrotask(() => ac.abort(reason));
      return new Promise<never>(() => undefined);
    };
    const err = await dockerCall('list', 5_000, ac.signal, inFlight).catch((e: unknown) => e);
    expect(err).toBe(reason);
    const pre = await dockerCall('list', 5_000, AbortSignal.abort(), async () => 1).catch((e: unknown) => e);
    expect((pre as Error).name).toBe('AbortError');
  });

  it('maps a failure and is not a deadline error', async () => {
    const err = await dockerCall('start', 1_000, undefined, () => Promise.reject(modemError(404, 'No such container: x'))).catch((e: unknown) => e);
    expect(isRuntimeError(err, 'NotFound')).toBe(true);
    expect(isDeadlineError(err)).toBe(false);
  });
});

describe('dockerCall signal', () => {
  it('renders as one word when docker-modem inspects the request options, and still aborts the call', async () => {
    const { inspect } = await import('node:util');
    let rendered = '';
    let given: AbortSignal | undefined;
    await dockerCall('op', 1000, undefined, (signal) => {
      given = signal;
      signal.addEventListener('abort', () => undefined);
      rendered = inspect({ path: '/containers/create', signal }, { showHidden: true, depth: null });
      return Promise.resolve();
    });
    expect(rendered).toBe("{ path: '/containers/create', signal: AbortSignal }");
    const caller = new AbortController();
    const pending = dockerCall('op', 1000, caller.signal, (signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')))));
    caller.abort(new Error('stop'));
    await expect(pending).rejects.toThrow('stop');
    expect(given?.aborted).toBe(false);
  });
});
