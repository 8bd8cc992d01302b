// One engine or API call with a deadline and the caller's AbortSignal, shared
// by every runtime: a wedged engine or API server is reported, never waited on.
import { RuntimeError } from './errors.js';

/** The reason a caller's signal carries, as an Error (AbortSignal.abort() gives a DOMException). */
export function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  return new DOMException(reason === undefined ? 'The operation was aborted' : String(reason), 'AbortError');
}

export class DeadlineExceeded extends Error {
  override readonly name = 'DeadlineExceeded';
}

/** True for the Unavailable a deadline produced (rather than, say, a refused connection). */
export const isDeadlineError = (e: unknown): e is RuntimeError => e instanceof RuntimeError && e.code === 'Unavailable' && e.cause instanceof DeadlineExceeded;

/** Settles with `p`, or rejects as soon as `signal` aborts; a late rejection of `p` is swallowed. */
export function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    p.catch(() => undefined);
    return Promise.reject(abortError(signal));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/**
 * Runs one call with a deadline. `fn` receives a signal that aborts on the
 * caller's signal or the deadline; the returned promise settles when that
 * signal aborts even if the client library does not honour it, so a caller
 * never hangs. The deadline covers the call only: once it settled, the signal
 * given to `fn` never aborts, so a stream the call returned lives on.
 *
 * One AbortController per call, linked to the caller's signal by a listener
 * removed at the end (not AbortSignal.any: a controller-wide shutdown signal
 * passed to every call would collect a dependant per call).
 *
 * Errors: the caller's abort rethrows the caller's reason (nobody failed); the
 * deadline gives Unavailable with `deadlineMessage`; everything else goes
 * through `mapError`.
 */
export async function deadlineCall<T>(
  timeoutMs: number,
  signal: AbortSignal | undefined,
  fn: (signal: AbortSignal) => Promise<T>,
  deadlineMessage: string,
  mapError: (e: unknown) => Error,
): Promise<T> {
  if (signal?.aborted) throw abortError(signal);
  const call = new AbortController();
  let deadline: DeadlineExceeded | undefined;
  const timer = setTimeout(() => {
    deadline = new DeadlineExceeded(`no answer within ${timeoutMs} ms`);
    call.abort(deadline);
  }, timeoutMs);
  const onCallerAbort = (): void => call.abort(signal?.reason);
  signal?.addEventListener('abort', onCallerAbort, { once: true });
  try {
    return await raceAbort(fn(call.signal), call.signal);
  } catch (e) {
    if (signal?.aborted) throw abortError(signal);
    // The cause is the deadline itself (the client's own error is just "aborted").
    if (deadline) throw new RuntimeError('Unavailable', deadlineMessage, { cause: deadline });
    throw mapError(e);
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onCallerAbort);
  }
}
