// Every engine call goes through dockerCall: a deadline, the caller's
// AbortSignal, and one mapping from dockerode's errors to RuntimeError codes.
// A wedged engine (moby/moby#46661) must surface as Unavailable, never a hang.
import { inspect } from 'node:util';
import { abortError, deadlineCall, isDeadlineError, raceAbort } from '../deadline-call.js';
import { RuntimeError, type RuntimeErrorCode } from '../errors.js';

export { abortError, isDeadlineError, raceAbort };

/** Milliseconds allowed per operation; stop gets the grace period on top of stopExtra. */
export interface DockerTimeouts {
  ping: number;
  list: number;
  inspect: number;
  create: number;
  start: number;
  stopExtra: number;
  remove: number;
  rename: number;
  imageInspect: number;
  pull: number;
  /** Each control call of an exec (create, start, inspect); the command itself has its own timeout. */
  execControl: number;
  /** Opening a log stream (a followed stream then lives until the caller aborts). */
  logs: number;
  /** One-shot stats: the engine samples twice, about a second apart. */
  stats: number;
  /** Opening the events stream. */
  eventsConnect: number;
  /** One archive transfer (berth cp), start to end: stat, get (read whole) or put. */
  archive: number;
}

export const DEFAULT_TIMEOUTS: DockerTimeouts = {
  ping: 5_000,
  list: 10_000,
  inspect: 10_000,
  create: 30_000,
  start: 30_000,
  stopExtra: 15_000,
  remove: 30_000,
  rename: 10_000,
  imageInspect: 10_000,
  pull: 5 * 60_000,
  execControl: 10_000,
  logs: 10_000,
  stats: 10_000,
  eventsConnect: 10_000,
  archive: 60_000,
};

/**
 * Runs one engine call with a deadline. `fn` receives a signal that aborts on
 * the caller's signal or the deadline; pass it to dockerode as `abortSignal`.
 * The returned promise settles when that signal aborts even if dockerode does
 * not honour it, so a caller never hangs. The deadline covers the call only:
 * once it settled, the signal given to `fn` never aborts, so a stream the call
 * returned lives on; whoever holds it ends it.
 *
 * One AbortController per call, linked to the caller's signal by a listener
 * removed at the end (not AbortSignal.any: a controller-wide shutdown signal
 * passed to every call would collect a dependant per call).
 *
 * Errors: the caller's abort rethrows the caller's reason (not a RuntimeError:
 * nobody failed); the deadline gives Unavailable; everything else goes through
 * toRuntimeError.
 */
export function dockerCall<T>(op: string, timeoutMs: number, signal: AbortSignal | undefined, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  return deadlineCall(timeoutMs, signal, (s) => fn(renderedBriefly(s)), `docker ${op}: the engine did not answer within ${timeoutMs} ms (wedged or unreachable)`, (e) => toRuntimeError(op, e));
}

/**
 * docker-modem (5.0.7, Modem.buildRequest) renders every request's options
 * with util.inspect({ showHidden: true, depth: null }) for a debug line, even
 * when debug output is off. The call's AbortSignal, with the listeners the
 * request has put on it, was most of that: 3.5 % of the controller's CPU in a
 * converge. The signal renders as one word instead.
 */
function renderedBriefly(signal: AbortSignal): AbortSignal {
  Object.defineProperty(signal, inspect.custom, { value: briefly });
  return signal;
}

const briefly = (): string => 'AbortSignal';

/** What dockerode and docker-modem attach to their errors. */
interface DockerodeErrorShape {
  statusCode?: number;
  code?: string;
  json?: unknown;
  message?: string;
  name?: string;
}

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ENOENT', // the unix socket does not exist
  'EACCES', // the socket exists but this user may not use it
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNABORTED',
  'ERR_SOCKET_CLOSED',
]);

/** The engine's own message when it sent one ("No such container: abc"), else the error's. */
export function engineMessage(e: unknown): string {
  const err = (e ?? {}) as DockerodeErrorShape;
  const json = err.json;
  if (json && typeof json === 'object' && 'message' in json && typeof json.message === 'string') return json.message.trim();
  if (typeof json === 'string' && json.trim()) return json.trim();
  if (Buffer.isBuffer(json) && json.length > 0) return json.toString('utf8').trim();
  if (typeof err.message === 'string') return err.message.replace(/^\(HTTP code \d+\) [^-]*- /, '').trim();
  return String(e);
}

function codeFor(e: unknown): RuntimeErrorCode {
  const err = (e ?? {}) as DockerodeErrorShape;
  const message = engineMessage(e);
  if (/no such image/i.test(message)) return 'ImagePullFailed';
  switch (err.statusCode) {
    case 304:
      return 'AlreadyDone';
    case 404:
      return 'NotFound';
    case 409:
      return 'Conflict';
    case 400:
      return 'Invalid';
    case 429:
    case 502:
    case 503:
    case 504:
      return 'Unavailable';
    case undefined:
      break;
    default:
      return 'Unknown';
  }
  if (err.code !== undefined && CONNECTION_CODES.has(err.code)) return 'Unavailable';
  if (err.name === 'AbortError' || /socket hang up|connect E[A-Z]+|read E[A-Z]+|write E[A-Z]+/.test(err.message ?? '')) return 'Unavailable';
  return 'Unknown';
}

/** dockerode's error as a RuntimeError, the original kept as `cause`. */
export function toRuntimeError(op: string, e: unknown): RuntimeError {
  if (e instanceof RuntimeError) return e;
  const code = codeFor(e);
  const err = (e ?? {}) as DockerodeErrorShape;
  const detail = engineMessage(e);
  const where = code === 'Unavailable' && err.code ? ` (${err.code})` : '';
  return new RuntimeError(code, `docker ${op}: ${detail}${where}`, { cause: e });
}
