// Long-lived responses: newline-delimited JSON watch events, and raw log bytes.
// A client that stops reading is cut off rather than buffered without bound.
import type { RequestContext } from './context.js';

/** A watcher further behind than this is disconnected (it can re-list and watch again). */
export const MAX_STREAM_BUFFER_BYTES = 8 * 1024 * 1024;

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface WatchStream {
  send(type: WatchEventType, object: unknown): void;
  /** Resolves when the client goes away or the server closes. */
  readonly done: Promise<void>;
}

export function beginStream(ctx: RequestContext, contentType: string): Promise<void> {
  const { res, req, signal } = ctx;
  res.writeHead(200, { 'Content-Type': contentType, 'Cache-Control': 'no-cache, no-store', 'X-Content-Type-Options': 'nosniff' });
  res.flushHeaders();
  req.socket.setKeepAlive(true, 30_000);
  ctx.markStreaming();
  return new Promise<void>((resolve) => {
    const finish = (): void => {
      if (!res.writableEnded) res.end();
      resolve();
    };
    if (signal.aborted) finish();
    else signal.addEventListener('abort', finish, { once: true });
  });
}

export function openWatch(ctx: RequestContext): WatchStream {
  const done = beginStream(ctx, 'application/json');
  const { res } = ctx;
  return {
    done,
    send(type, object) {
      if (res.writableEnded || res.destroyed) return;
      res.write(JSON.stringify({ type, object }) + '\n');
      if (res.writableLength > MAX_STREAM_BUFFER_BYTES) res.destroy();
    },
  };
}
