// What a test scripts about the memory runtime's operations: a failure the
// next call (or the next n calls) of an operation meets, and a hold that keeps
// calls waiting until the test releases them. Calls are recorded, so a test can
// assert what reached the "engine" without instrumenting a client.
import { abortError, raceAbort } from '../deadline-call.js';

export type MemoryOp =
  | 'list'
  | 'inspect'
  | 'ensureImage'
  | 'create'
  | 'start'
  | 'stop'
  | 'remove'
  | 'rename'
  | 'exec'
  | 'logs'
  | 'usage'
  | 'statPath'
  | 'getArchive'
  | 'putArchive'
  | 'ping';

export interface OpCall {
  op: MemoryOp;
  /** The container id or name the call named, when it named one. */
  target?: string;
}

/** Narrows a scripted behaviour to the calls naming one container (id or, for create, name). */
export interface OpMatch {
  target?: string;
}

interface Failure extends OpMatch {
  op: MemoryOp;
  error: Error;
  /** Calls left to fail; Infinity until cleared. */
  left: number;
}

/** A hold: calls that reach it wait until release() (or fail with fail()). */
export interface Hold {
  /** Resolves when the first call reached the hold. */
  readonly reached: Promise<void>;
  /** Calls that are waiting now. */
  readonly waiting: number;
  /** Lets waiting and later calls through, and removes the hold. */
  release(): void;
  /** Rejects waiting calls with error, and removes the hold. */
  fail(error: Error): void;
}

interface HoldState extends OpMatch {
  op: MemoryOp;
  waiters: Array<{ resolve: () => void; reject: (e: Error) => void }>;
  onReached: () => void;
  handle: Hold;
}

const matches = (m: OpMatch, target: string | undefined): boolean => m.target === undefined || m.target === target;

export class OpScript {
  readonly calls: OpCall[] = [];
  private readonly failures: Failure[] = [];
  private readonly holds: HoldState[] = [];

  /** The next `times` calls of op (default 1; Infinity until clear()) throw error. */
  fail(op: MemoryOp, error: Error, opts: OpMatch & { times?: number } = {}): void {
    this.failures.push({ op, error, left: opts.times ?? 1, target: opts.target });
  }

  /** Calls of op wait at the start until the returned hold is released. */
  hold(op: MemoryOp, opts: OpMatch = {}): Hold {
    let onReached!: () => void;
    const reached = new Promise<void>((r) => (onReached = r));
    const state: HoldState = {
      op,
      target: opts.target,
      waiters: [],
      onReached,
      handle: {
        reached,
        get waiting() {
          return state.waiters.length;
        },
        release: () => this.endHold(state, (w) => w.resolve()),
        fail: (error) => this.endHold(state, (w) => w.reject(error)),
      },
    };
    this.holds.push(state);
    return state.handle;
  }

  /** Drops every scripted failure (holds end by their own release). */
  clear(): void {
    this.failures.length = 0;
  }

  /** Number of calls of op so far. */
  count(op: MemoryOp): number {
    return this.calls.filter((c) => c.op === op).length;
  }

  /** Records the call, waits at a hold, then throws a scripted failure; honours the signal while waiting. */
  async enter(op: MemoryOp, target: string | undefined, signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) throw abortError(signal);
    this.calls.push(target === undefined ? { op } : { op, target });
    const hold = this.holds.find((h) => h.op === op && matches(h, target));
    if (hold) {
      const waited = new Promise<void>((resolve, reject) => hold.waiters.push({ resolve, reject }));
      hold.onReached();
      await (signal ? raceAbort(waited, signal) : waited);
    }
    const failure = this.failures.find((f) => f.op === op && matches(f, target));
    if (failure) {
      failure.left -= 1;
      if (failure.left <= 0) this.failures.splice(this.failures.indexOf(failure), 1);
      throw failure.error;
    }
  }

  private endHold(state: HoldState, settle: (w: HoldState['waiters'][number]) => void): void {
    const i = this.holds.indexOf(state);
    if (i >= 0) this.holds.splice(i, 1);
    for (const w of state.waiters.splice(0)) settle(w);
  }
}
