import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { RuntimeError } from '../errors.js';
import { kubeCall, retryAfterMs, statusError, toRuntimeError } from './call.js';

// As client-node 1.4 throws them: the raw Status text as body, lower-case headers.
function apiException(code: number, reason: string, message: string, headers: Record<string, string> = {}, details?: object): ApiException<string> {
  const body = JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message, ...(details ? { details } : {}) });
  return new ApiException(code, message, body, headers);
}

describe('toRuntimeError', () => {
  it.each([
    [apiException(404, 'NotFound', 'pods "x" not found'), 'NotFound'],
    [apiException(409, 'AlreadyExists', 'pods "x" already exists'), 'Conflict'],
    [apiException(422, 'Invalid', 'Pod "x" is invalid: spec.containers[0].image: Required value'), 'Invalid'],
    [apiException(400, 'BadRequest', 'bad'), 'Invalid'],
    [apiException(410, 'Expired', 'too old resource version'), 'Unavailable'],
    [apiException(503, 'ServiceUnavailable', 'busy'), 'Unavailable'],
    [apiException(403, 'Forbidden', 'pods is forbidden'), 'Unknown'],
    [apiException(500, 'InternalError', 'boom'), 'Unknown'],
    [Object.assign(new Error('request to https://x/api failed, reason: connect ECONNREFUSED 127.0.0.1:6443'), { name: 'FetchError', type: 'system', code: 'ECONNREFUSED' }), 'Unavailable'],
    [Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), 'Unavailable'],
    [new Error('something else'), 'Unknown'],
  ])('%s -> %s', (err, code) => {
    const mapped = toRuntimeError('op', err);
    expect(mapped.code).toBe(code);
    expect(mapped.cause).toBe(err);
    expect(mapped.message.startsWith('kubernetes op: ')).toBe(true);
  });

  it('uses the Status message, and Retry-After for 429', () => {
    const mapped = toRuntimeError('list pods', apiException(429, 'TooManyRequests', 'slow down', { 'retry-after': '2' }, { retryAfterSeconds: 2 }));
    expect(mapped).toMatchObject({ code: 'Unavailable', retryAfterMs: 2000 });
    expect(mapped.message).toBe('kubernetes list pods: slow down (429 TooManyRequests)');
  });

  it('keeps a RuntimeError as it is', () => {
    const e = new RuntimeError('Conflict', 'x');
    expect(toRuntimeError('op', e)).toBe(e);
  });
});

describe('retryAfterMs', () => {
  it('reads seconds, an HTTP date, or details.retryAfterSeconds', () => {
    expect(retryAfterMs('3', {})).toBe(3000);
    expect(retryAfterMs('Thu, 01 Jan 2026 00:00:10 GMT', {}, Date.UTC(2026, 0, 1, 0, 0, 0))).toBe(10_000);
    expect(retryAfterMs(undefined, { details: { retryAfterSeconds: 1 } })).toBe(1000);
    expect(retryAfterMs(undefined, {})).toBeUndefined();
  });

  it('statusError carries the Status of a raw request', () => {
    const e = statusError('watch pods', 410, '{"kind":"Status","code":410,"reason":"Expired","message":"too old"}', undefined);
    expect(e).toMatchObject({ code: 'Unavailable', message: 'kubernetes watch pods: too old (410 Expired)' });
    expect((e.cause as { code: number }).code).toBe(410);
  });
});

describe('kubeCall', () => {
  it('gives Unavailable when the deadline passes, and passes the signal on', async () => {
    let seen: AbortSignal | undefined;
    const err = await kubeCall('get pod', 30, undefined, (s) => {
      seen = s;
      return new Promise(() => undefined);
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'Unavailable', message: 'kubernetes get pod: the API server did not answer within 30 ms' });
    expect(seen?.aborted).toBe(true);
  });

  it("rethrows the caller's abort reason", async () => {
    const caller = new AbortController();
    const p = kubeCall('get pod', 10_000, caller.signal, () => new Promise(() => undefined));
    caller.abort(new Error('shutting down'));
    await expect(p).rejects.toThrow('shutting down');
  });
});
