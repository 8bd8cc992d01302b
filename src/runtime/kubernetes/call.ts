// Every API call of the Pod runtime goes through kubeCall: a deadline, the
// caller's AbortSignal, and one mapping from client-node's errors to
// RuntimeError codes, so the controller's single retry policy can decide
// without knowing which runtime answered.
//
// client-node 1.4 facts this file exists for:
// - The Object*Api classes take Observable-style middleware; the per-request
//   AbortSignal is set through it (RequestContext.setSignal), and node-fetch
//   honours it.
// - ApiException.body is the raw response text (a JSON metav1.Status), and
//   ApiException.headers holds Retry-After in lower case.
// - PATCH needs an explicit Content-Type (merge patch here).
import { ApiException, Observable, type ConfigurationOptions, type ObservableMiddleware, type RequestContext, type ResponseContext } from '@kubernetes/client-node';
import { RuntimeError, type RuntimeErrorCode } from '../errors.js';
import { abortError, deadlineCall, raceAbort } from '../deadline-call.js';

export { abortError, raceAbort };

export const MERGE_PATCH = 'application/merge-patch+json';

/** Milliseconds allowed per operation. */
export interface KubeTimeouts {
  ping: number;
  list: number;
  /** One GET, PATCH or DELETE of a Pod. */
  call: number;
  create: number;
  /** How long start() waits for a Pod to run (scheduling, image pull). */
  start: number;
  /** How long start() lets the scheduler keep a Pod Unschedulable before it reports it (ms). */
  unschedulableGrace: number;
  /** stop() waits the Pod's terminationGracePeriodSeconds plus this for the kubelet to report the exit. */
  stopExtra: number;
  /** remove() waits for a terminating Pod to be gone at most its grace period plus this, then returns anyway. */
  removeExtra: number;
  /** Opening an exec stream, and each kill step after a timeout. */
  execControl: number;
  /** Opening a log stream (a followed stream then lives until the caller aborts). */
  logs: number;
  metrics: number;
  /** Opening a watch (response headers). */
  watchConnect: number;
  /** One archive transfer (berth cp: tar over exec), start to end. */
  archive: number;
}

export const DEFAULT_TIMEOUTS: KubeTimeouts = {
  ping: 5_000,
  list: 15_000,
  call: 10_000,
  create: 30_000,
  start: 60_000,
  unschedulableGrace: 5_000,
  stopExtra: 15_000,
  removeExtra: 15_000,
  execControl: 10_000,
  logs: 10_000,
  archive: 60_000,
  metrics: 10_000,
  watchConnect: 10_000,
};

/** Per-call options for the Object*Api methods: the request's AbortSignal and, for patches, a Content-Type. */
export function callOptions(signal: AbortSignal, contentType?: string): ConfigurationOptions<ObservableMiddleware> {
  const middleware: ObservableMiddleware = {
    pre: (ctx: RequestContext) => {
      ctx.setSignal(signal);
      if (contentType) ctx.setHeaderParam('Content-Type', contentType);
      return new Observable(Promise.resolve(ctx));
    },
    post: (res: ResponseContext) => new Observable(Promise.resolve(res)),
  };
  return { middleware: [middleware], middlewareMergeStrategy: 'append' };
}

/** Runs one API call with a deadline (see deadlineCall); pass the signal `fn` gets through callOptions. */
export function kubeCall<T>(op: string, timeoutMs: number, signal: AbortSignal | undefined, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  return deadlineCall(timeoutMs, signal, fn, `kubernetes ${op}: the API server did not answer within ${timeoutMs} ms`, (e) => toRuntimeError(op, e));
}

export interface KubeStatus {
  code?: number;
  reason?: string;
  message?: string;
  details?: { retryAfterSeconds?: number; causes?: Array<{ reason?: string; message?: string; field?: string }> };
}

/** A metav1.Status from a response body (text or already parsed); {} when it is none. */
export function parseStatus(body: unknown): KubeStatus {
  if (body && typeof body === 'object') return body as KubeStatus;
  if (typeof body !== 'string' || !body.trim()) return {};
  try {
    const parsed: unknown = JSON.parse(body);
    return parsed && typeof parsed === 'object' ? (parsed as KubeStatus) : {};
  } catch {
    return { message: body.trim().slice(0, 500) };
  }
}

/** Retry-After in ms: the header (seconds, or an HTTP date), else the Status's details.retryAfterSeconds. */
export function retryAfterMs(header: string | string[] | undefined, status: KubeStatus, now = Date.now()): number | undefined {
  const text = Array.isArray(header) ? header[0] : header;
  if (text !== undefined && text.trim() !== '') {
    if (/^\d+$/.test(text.trim())) return Number(text.trim()) * 1000;
    const at = Date.parse(text);
    if (!Number.isNaN(at)) return Math.max(0, at - now);
  }
  const seconds = status.details?.retryAfterSeconds;
  return typeof seconds === 'number' && Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

/** The RuntimeError code for an HTTP status of the API server. */
export function codeForStatus(code: number): RuntimeErrorCode {
  switch (code) {
    case 404:
      return 'NotFound';
    case 409:
      return 'Conflict';
    case 400:
    case 422:
      return 'Invalid';
    case 410: // Expired: a stale resourceVersion or continue token; a fresh list is the cure
    case 429:
    case 502:
    case 503:
    case 504:
      return 'Unavailable';
    default:
      return 'Unknown';
  }
}

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNABORTED',
  'ERR_SOCKET_CLOSED',
  'UND_ERR_SOCKET',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

/** An error with an HTTP status from a raw request (stream.ts), carrying the Status body and Retry-After. */
export function statusError(op: string, code: number, body: unknown, retryAfter: string | string[] | undefined): RuntimeError {
  const status = parseStatus(body);
  const ms = retryAfter !== undefined || status.details?.retryAfterSeconds !== undefined ? retryAfterMs(retryAfter, status) : undefined;
  const detail = status.message ?? `HTTP ${code}`;
  return new RuntimeError(codeForStatus(code), `kubernetes ${op}: ${detail} (${code}${status.reason ? ` ${status.reason}` : ''})`, {
    cause: Object.assign(new Error(detail), { code, status }),
    ...(ms !== undefined ? { retryAfterMs: ms } : {}),
  });
}

/** The HTTP code of a failed API call, when it had one. */
export function httpCodeOf(e: unknown): number | undefined {
  if (e instanceof ApiException) return (e as ApiException<unknown>).code;
  const cause = e instanceof RuntimeError ? e.cause : undefined;
  if (cause && typeof cause === 'object' && 'code' in cause && typeof cause.code === 'number') return cause.code;
  return undefined;
}

/** client-node's error (ApiException, node-fetch FetchError, a socket error) as a RuntimeError, the original kept as cause. */
export function toRuntimeError(op: string, e: unknown): RuntimeError {
  if (e instanceof RuntimeError) return e;
  if (e instanceof ApiException) {
    const ex = e as ApiException<unknown>;
    const headers = (ex.headers ?? {}) as Record<string, string>;
    const status = parseStatus(ex.body);
    const ms = retryAfterMs(headers['retry-after'], status);
    const detail = status.message ?? `HTTP ${ex.code}`;
    return new RuntimeError(codeForStatus(ex.code), `kubernetes ${op}: ${detail} (${ex.code}${status.reason ? ` ${status.reason}` : ''})`, {
      cause: e,
      ...(ms !== undefined ? { retryAfterMs: ms } : {}),
    });
  }
  const err = (e ?? {}) as { code?: string; errno?: string; name?: string; message?: string; type?: string };
  const sysCode = err.code ?? err.errno;
  const transport = (sysCode !== undefined && CONNECTION_CODES.has(sysCode)) || err.name === 'FetchError' || err.name === 'AbortError' || err.type === 'system';
  const message = err.message ?? String(e);
  return new RuntimeError(transport ? 'Unavailable' : 'Unknown', `kubernetes ${op}: ${message}${transport && sysCode ? ` (${sysCode})` : ''}`, { cause: e });
}
