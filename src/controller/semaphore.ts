// A FIFO async semaphore: the global --max-concurrent-ops limit on runtime
// operations, so a burst of reconciles never overloads the engine. Permits go
// to waiters strictly in arrival order (a release hands its permit straight to
// the oldest waiter, so no later caller can barge in).

/** Gives the permit back; calling it more than once does nothing. */
export type Release = () => void;

interface Waiter {
  grant: (release: Release) => void;
}

export class Semaphore {
  private active = 0;
  private readonly waiters: Waiter[] = [];

  /** limit: permits available at once (an integer >= 1, or Infinity). */
  constructor(readonly limit: number) {
    if (!(limit >= 1) || (limit !== Infinity && !Number.isInteger(limit))) {
      throw new RangeError(`Semaphore: limit must be an integer >= 1, got ${limit}`);
    }
  }

  /** Permits held now. */
  get inFlight(): number {
    return this.active;
  }

  /** Callers waiting for a permit. */
  get waiting(): number {
    return this.waiters.length;
  }

  /**
   * Resolves with a release function once a permit is free. If signal aborts
   * first (or already has), the caller leaves the line and the promise rejects
   * with signal.reason.
   */
  acquire(signal?: AbortSignal): Promise<Release> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.active < this.limit && this.waiters.length === 0) {
      this.active++;
      return Promise.resolve(this.releaser());
    }
    return new Promise<Release>((resolve, reject) => {
      const onAbort = (): void => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(signal?.reason);
      };
      const waiter: Waiter = {
        grant: (release) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(release);
        },
      };
      this.waiters.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Runs fn holding a permit, releasing it however fn ends. */
  async run<T>(fn: () => T | PromiseLike<T>, signal?: AbortSignal): Promise<T> {
    const release = await this.acquire(signal);
    try {
      return await fn();
    } finally {
      release();
    }
  }

  private releaser(): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiters.shift();
      if (next) next.grant(this.releaser()); // the permit passes on; active is unchanged
      else this.active--;
    };
  }
}
