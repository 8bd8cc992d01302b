// One open watch response: newline-delimited JSON events, periodic bookmarks,
// timeoutSeconds, and the faults the control can inject (an abrupt break, a
// silent stall).
import type { ServerResponse } from 'node:http';

export interface WatchStreamOptions {
  /** Bookmark period when the client asked for bookmarks; undefined: none. */
  bookmarkIntervalMs: number | undefined;
  /** From timeoutSeconds; undefined: open until the client or the test ends it. */
  timeoutMs: number | undefined;
  bookmark: () => unknown;
  onClose: () => void;
}

export class WatchStream {
  private closed = false;
  private stalled = false;
  private stallTimer: NodeJS.Timeout | undefined;
  private readonly buffer: string[] = [];
  private endWhenUnstalled = false;
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly res: ServerResponse,
    private readonly opts: WatchStreamOptions,
  ) {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    res.on('close', () => this.cleanup());
    if (opts.bookmarkIntervalMs !== undefined) {
      const t = setInterval(() => {
        if (!this.stalled) this.send({ type: 'BOOKMARK', object: opts.bookmark() });
      }, opts.bookmarkIntervalMs);
      this.timers.push(t);
    }
    if (opts.timeoutMs !== undefined) this.timers.push(setTimeout(() => this.end(), opts.timeoutMs));
  }

  get isClosed(): boolean {
    return this.closed;
  }

  send(event: { type: string; object: unknown }): void {
    if (this.closed) return;
    const line = `${JSON.stringify(event)}\n`;
    if (this.stalled) this.buffer.push(line);
    else this.res.write(line);
  }

  /** Ends the response cleanly (as after timeoutSeconds); deferred while stalled. */
  end(): void {
    if (this.closed) return;
    if (this.stalled) {
      this.endWhenUnstalled = true;
      return;
    }
    this.res.end();
    this.cleanup();
  }

  /** Ends the connection abruptly: the client sees a reset mid-stream. */
  break(): void {
    if (this.closed) return;
    this.res.socket?.destroy();
    this.res.destroy();
    this.cleanup();
  }

  /** Sends nothing for ms (or ever); what would have been sent is delivered afterwards. */
  stall(ms: number | 'forever'): void {
    if (this.closed) return;
    this.stalled = true;
    if (this.stallTimer) clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
    if (ms !== 'forever') this.stallTimer = setTimeout(() => this.unstall(), ms);
  }

  private unstall(): void {
    this.stalled = false;
    this.stallTimer = undefined;
    if (this.closed) return;
    for (const line of this.buffer.splice(0)) this.res.write(line);
    if (this.endWhenUnstalled) this.end();
  }

  private cleanup(): void {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    if (this.stallTimer) clearTimeout(this.stallTimer);
    this.opts.onClose();
  }
}
