// Deaths the engine told of that its list may not show yet. Docker emits
// `die` while it still holds the container to clean up after the exit (100 ms
// and more on a busy engine), and its list reads a copy of the container's
// state that is updated only at the end of that: a reconcile woken by the die
// lists the container as running and does nothing. Looks again on timers
// (40 ms, 150 ms, 1 s) came late by up to the gap between two of them, about
// 120 ms of each kill -> running. So a die is noted here, and the owner's next
// observation inspects that container instead of trusting the list: an
// inspect waits until the engine is done with the exit (it takes the same
// lock as a start) and answers with the exit code and times the restart
// backoff needs, at the earliest moment a start could go ahead anyway.
import { isRuntimeError } from '../runtime/errors.js';
import type { ObservedContainer } from '../runtime/types.js';

/** A note older than this is dropped: the container was removed, or its owner is not reconciled. */
export const EXIT_NOTICE_TTL_MS = 60_000;

export type Inspect = (id: string, signal: AbortSignal) => Promise<ObservedContainer>;

export class ExitNotices {
  /** Container id -> when its death was told (clock ms); insertion order is age order. */
  private readonly died = new Map<string, number>();

  constructor(private readonly clock: { now(): number }) {}

  note(containerId: string): void {
    const now = this.clock.now();
    this.died.delete(containerId); // re-inserted last: the map stays in age order
    this.died.set(containerId, now);
    for (const [id, at] of this.died) {
      if (now - at < EXIT_NOTICE_TTL_MS) break;
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
   * The list with each noted container it still shows alive replaced by an
   * inspect (dropped when the inspect finds it gone). A note is used once:
   * the inspect's answer is the engine's after the exit.
   */
  async correct(listed: ObservedContainer[], inspect: Inspect, signal: AbortSignal): Promise<ObservedContainer[]> {
    if (this.died.size === 0) return listed;
    const stale: number[] = [];
    for (const [i, c] of listed.entries()) {
      if (!this.died.delete(c.id)) continue;
      if (c.state !== 'exited' && c.state !== 'dead') stale.push(i); // exited ones the list already inspected
    }
    if (stale.length === 0) return listed;
    const out: Array<ObservedContainer | undefined> = [...listed];
    await Promise.all(
      stale.map(async (i) => {
        const id = listed[i]!.id;
        out[i] = await inspect(id, signal).catch((e: unknown) => {
          if (isRuntimeError(e, 'NotFound')) return undefined;
          this.died.set(id, this.clock.now()); // the retry of this reconcile must not trust the list either
          throw e;
        });
      }),
    );
    return out.filter((c): c is ObservedContainer => c !== undefined);
  }
}
