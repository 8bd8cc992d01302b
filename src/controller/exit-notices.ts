// Deaths the engine told of that its list may not show yet. Docker emits
// `die` while it still holds the container to clean up after the exit (100 ms
// and more on a busy engine), and its list reads a copy of the container's
// state that is updated only at the end of that: a reconcile woken by the die
// lists the container as running and does nothing. Looks again on timers
// (40 ms, 150 ms, 1 s) came late by up to the gap between two of them, about
// 120 ms of each kill -> running. So the container is inspected as soon as
// its die is told, and the owner's next observation takes that answer over
// the list's: an inspect waits until the engine is done with the exit (it
// takes the same lock as a start) and answers with the exit code and times
// the restart backoff needs, at the earliest moment a start could go ahead.
// Asked at the die, not by the reconcile, it waits out the engine's cleanup
// while the reconcile is queued and lists.
import { isRuntimeError } from '../runtime/errors.js';
import type { ObservedContainer } from '../runtime/types.js';

/** A note older than this is dropped: the container was removed, or its owner is not reconciled. */
export const EXIT_NOTICE_TTL_MS = 60_000;

export type Inspect = (id: string, signal: AbortSignal) => Promise<ObservedContainer>;

/** The inspect asked at the die: the container, gone (undefined), or the error to retry on. */
type Answer = { container: ObservedContainer | undefined } | { error: unknown };

export class ExitNotices {
  /** Container id -> when its death was told (clock ms) and the inspect asked then; insertion order is age order. */
  private readonly died = new Map<string, { at: number; answer: Promise<Answer> }>();

  constructor(
    private readonly clock: { now(): number },
    private readonly inspect: Inspect,
    /** Ends the inspects asked at a die (the controller stopping). */
    private readonly signal: AbortSignal,
  ) {}

  note(containerId: string): void {
    const now = this.clock.now();
    this.died.delete(containerId); // re-inserted last: the map stays in age order
    this.died.set(containerId, { at: now, answer: this.ask(containerId, this.signal) });
    for (const [id, n] of this.died) {
      if (now - n.at < EXIT_NOTICE_TTL_MS) break;
      this.died.delete(id);
    }
  }

  forget(containerId: string): void {
    this.died.delete(containerId);
  }

  get size(): number {
    return this.died.size;
  }

  /**
   * The list with each noted container it still shows alive replaced by the
   * inspect asked at its die (dropped when that found it gone; asked again
   * when it failed). A note is used once: the answer is the engine's after
   * the exit.
   */
  async correct(listed: ObservedContainer[], signal: AbortSignal): Promise<ObservedContainer[]> {
    if (this.died.size === 0) return listed;
    const stale: Array<{ i: number; answer: Promise<Answer> }> = [];
    for (const [i, c] of listed.entries()) {
      const n = this.died.get(c.id);
      if (!n) continue;
      this.died.delete(c.id);
      if (c.state !== 'exited' && c.state !== 'dead') stale.push({ i, answer: n.answer }); // exited ones the list already inspected
    }
    if (stale.length === 0) return listed;
    const out: Array<ObservedContainer | undefined> = [...listed];
    await Promise.all(
      stale.map(async ({ i, answer }) => {
        const id = listed[i]!.id;
        let a = await abortable(answer, signal);
        if ('error' in a) a = await this.ask(id, signal);
        if ('error' in a) {
          this.died.set(id, { at: this.clock.now(), answer: Promise.resolve(a) }); // the retry must not trust the list either
          throw a.error;
        }
        out[i] = a.container;
      }),
    );
    return out.filter((c): c is ObservedContainer => c !== undefined);
  }

  private ask(id: string, signal: AbortSignal): Promise<Answer> {
    return this.inspect(id, signal).then(
      (container) => ({ container }),
      (error: unknown) => (isRuntimeError(error, 'NotFound') ? { container: undefined } : { error }),
    );
  }
}

/** The answer, or the signal's reason once it aborts (the reconcile was cancelled). */
function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
  return new Promise((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
