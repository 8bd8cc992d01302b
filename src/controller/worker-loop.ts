// The single retry policy, as controller-runtime's reconcileHandler: workers
// take keys from the queue, reconcile, and decide how the key comes back:
//   error                -> rate-limited requeue (per-key backoff under the overall rate)
//   error w/ retryAfterMs -> requeue after max(Retry-After, rate-limited delay)
//   terminal error       -> reported, forgotten, not retried
//   { requeueAfterMs }   -> forget the backoff, add again after that long
//   success              -> forget the backoff
// and always done(key), so the key can be processed again.
import type { WorkQueue } from './workqueue.js';

export interface ReconcileResult {
  /**
   * Reconcile again after this many ms (a deadline: max age, ttl, backoff
   * end). 0 or less means at once; undefined or non-finite means not at all.
   */
  requeueAfterMs?: number;
}

export type Reconciler<K extends string> = (key: K, signal: AbortSignal) => Promise<ReconcileResult | void>;

/** What the worker loop needs of a queue. */
export type WorkerQueue<K extends string> = Pick<
  WorkQueue<K>,
  'get' | 'done' | 'forget' | 'addAfter' | 'addRateLimited' | 'shutDown' | 'shuttingDown'
>;

export interface RunWorkersOptions<K extends string> {
  queue: WorkerQueue<K>;
  /** Concurrent workers (an integer >= 1); one key is still never processed twice at once. */
  workers: number;
  reconcile: Reconciler<K>;
  /** Errors never worth retrying (an invalid spec): reported and forgotten. Default: none. */
  isTerminal?: (err: unknown) => boolean;
  /** Called for every failed reconcile; willRetry is false for terminal errors and during shutdown. */
  onError?: (key: K, err: unknown, willRetry: boolean) => void;
  /**
   * Aborting shuts the queue down; in-flight reconciles get this same signal
   * and are awaited, waiting keys are dropped.
   */
  signal: AbortSignal;
}

/**
 * Starts the workers. Resolves once they have all exited, which happens after
 * the queue is shut down (by the signal or by anyone) and every in-flight
 * reconcile has settled.
 */
export async function runWorkers<K extends string>(options: RunWorkersOptions<K>): Promise<void> {
  const { queue, workers, signal } = options;
  if (!Number.isInteger(workers) || workers < 1) throw new RangeError(`runWorkers: workers must be an integer >= 1, got ${workers}`);
  const stop = (): void => queue.shutDown();
  if (signal.aborted) stop();
  else signal.addEventListener('abort', stop, { once: true });
  try {
    await Promise.all(Array.from({ length: workers }, () => worker(options)));
  } finally {
    signal.removeEventListener('abort', stop);
  }
}

async function worker<K extends string>(options: RunWorkersOptions<K>): Promise<void> {
  const { queue } = options;
  for (let key = await queue.get(); key !== undefined; key = await queue.get()) {
    try {
      await processOne(options, key);
    } finally {
      queue.done(key);
    }
    const turn = loopTurnIfBusy();
    if (turn) await turn;
  }
}

/**
 * How long workers may go from key to key without the event loop turning.
 * A reconcile that needs no I/O (a claim on a flooded pool, anything on the
 * in-memory runtime) resolves in microtasks, and a queue of thousands of such
 * keys ran as one unbroken task: with 5000 claims timing out, a GET waited
 * up to a second, and so would the lease renewal and the engine's events.
 */
const SLICE_MS = 5;
let sliceStart = 0;
/** Resolves once the event loop has turned (I/O polled) since the slice began; undefined: it has. */
let nextTurn: Promise<void> | undefined;

/** Undefined while the slice lasts; past it, a promise of the loop's next turn. */
function loopTurnIfBusy(): Promise<void> | undefined {
  if (nextTurn === undefined) {
    sliceStart = performance.now();
    nextTurn = new Promise((resolve) =>
      setImmediate(() => {
        nextTurn = undefined;
        resolve();
      }),
    );
    return undefined;
  }
  return performance.now() - sliceStart >= SLICE_MS ? nextTurn : undefined;
}

async function processOne<K extends string>(options: RunWorkersOptions<K>, key: K): Promise<void> {
  const { queue, reconcile, signal } = options;
  let result: ReconcileResult | void;
  try {
    result = await reconcile(key, signal);
  } catch (err) {
    const terminal = isTerminalSafe(options, err);
    const willRetry = !terminal && !queue.shuttingDown;
    if (terminal) queue.forget(key);
    else queue.addRateLimited(key, retryAfterMs(err) ?? 0);
    report(options, key, err, willRetry);
    return;
  }
  queue.forget(key);
  const after = result?.requeueAfterMs;
  if (typeof after === 'number' && Number.isFinite(after)) queue.addAfter(key, Math.max(0, after));
}

function isTerminalSafe<K extends string>(options: RunWorkersOptions<K>, err: unknown): boolean {
  try {
    return options.isTerminal?.(err) ?? false;
  } catch {
    return false;
  }
}

function report<K extends string>(options: RunWorkersOptions<K>, key: K, err: unknown, willRetry: boolean): void {
  try {
    options.onError?.(key, err, willRetry);
  } catch {
    // a failing logger must not stop a worker
  }
}

/**
 * A server-requested wait (429/503 Retry-After) carried as a numeric
 * `retryAfterMs` on the error or on any error in its `cause` chain (errors are
 * wrapped with { cause } on their way up).
 */
export function retryAfterMs(err: unknown): number | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 16 && typeof e === 'object' && e !== null; depth++) {
    const value = (e as { retryAfterMs?: unknown }).retryAfterMs;
    if (typeof value === 'number' && value > 0 && Number.isFinite(value)) return value;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}
