// Runtime events of managed Pods from a watch: phase transitions become the
// Docker runtime's actions (start, die, oom, health_status, destroy), so the
// controller wakes the owner's key at once. Events only wake reconciles: a
// missed one is caught by the periodic resync.
//
// The watch (label selector berth.dev/managed-by, any value) starts from the
// resourceVersion of one list, which also seeds what each Pod looked like.
// It asks for bookmarks and ends itself after timeoutSeconds (300 s plus
// jitter): then it reopens from the last resourceVersion seen, silently.
// Breaks and failures are reported to onError and retried with backoff
// (200 ms doubling to 5 s, with jitter). 410 Expired (the resourceVersion was
// compacted) relists, and the difference between what was known and the new
// list is delivered as events, so no exit is lost in the gap. A watch that
// sends nothing, not even a bookmark, for stallTimeoutMs (default 90 s; real
// API servers send a bookmark about every minute) is taken as dead (a
// half-open connection): it is aborted, reported, and reopened.
import { setTimeout as sleep } from 'node:timers/promises';
import type { V1Pod } from '@kubernetes/client-node';
import { RuntimeError } from '../errors.js';
import type { ContainerState, RuntimeEvent } from '../types.js';
import { LineSplitter } from '../docker/events.js';
import { berthLabels, mainStatus, podId, podState, timeMs } from './observe.js';
import { idleWatchSeconds } from './watch-timeout.js';

/** What a Pod looked like, as far as its events are concerned. */
export interface PodSummary {
  /** The state without deletion taken into account (an exit during termination is still an exit). */
  state: ContainerState;
  ready: boolean;
  oomKilled: boolean;
  startedAt?: number;
  finishedAt?: number;
  labels: Record<string, string>;
}

export function summarize(pod: V1Pod): PodSummary {
  const meta = pod.metadata ?? {};
  const state = podState({ ...pod, metadata: { ...meta, deletionTimestamp: undefined } } as V1Pod);
  const cs = mainStatus(pod)?.state;
  const s: PodSummary = {
    state,
    ready: (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
    oomKilled: cs?.terminated?.reason === 'OOMKilled',
    labels: berthLabels(pod),
  };
  const startedAt = timeMs(cs?.running?.startedAt) ?? timeMs(cs?.terminated?.startedAt);
  if (startedAt !== undefined) s.startedAt = startedAt;
  const finishedAt = timeMs(cs?.terminated?.finishedAt);
  if (finishedAt !== undefined) s.finishedAt = finishedAt;
  return s;
}

const alive = (s: ContainerState | undefined): boolean => s === 'running' || s === 'restarting' || s === 'paused';
const ended = (s: ContainerState | undefined): boolean => s === 'exited' || s === 'dead';

/**
 * The events between two looks at one Pod: prev (undefined: not known
 * before) and next; `deleted` when next is the Pod's last state before it
 * went away. Pure.
 */
export function transitionEvents(containerId: string, prev: PodSummary | undefined, next: PodSummary, deleted: boolean, now: number): RuntimeEvent[] {
  const event = (action: string, time: number): RuntimeEvent => ({ action, containerId, labels: next.labels, time });
  const out: RuntimeEvent[] = [];
  const before = prev?.state;
  if (!deleted && alive(next.state) && !alive(before)) out.push(event('start', next.startedAt ?? now));
  const exitedNow = ended(next.state) || (deleted && alive(before));
  if (exitedNow && !ended(before)) {
    out.push(event('die', next.finishedAt ?? now));
    if (next.oomKilled) out.push(event('oom', next.finishedAt ?? now));
  }
  if (!deleted && prev && alive(before) && alive(next.state) && prev.ready !== next.ready) out.push(event('health_status', now));
  if (deleted) out.push(event('destroy', now));
  return out;
}

export interface PodList {
  resourceVersion: string;
  items: V1Pod[];
}

export interface PodEventsSource {
  /** Every managed Pod and the list's resourceVersion. */
  list(signal: AbortSignal): Promise<PodList>;
  /** A watch of managed Pods from resourceVersion (bookmarks on); a stream of JSON lines. */
  watch(resourceVersion: string, timeoutSeconds: number, signal: AbortSignal): Promise<NodeJS.ReadableStream>;
}

export interface PodEventsOptions {
  stallTimeoutMs: number;
  /** The watch's timeoutSeconds, drawn per watch (default 60-90 % of stallTimeoutMs). */
  watchTimeoutSeconds?: () => number;
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  now?: () => number;
}

const withJitter = (ms: number): number => Math.round(ms * (0.8 + Math.random() * 0.4));

interface WatchLine {
  type?: string;
  object?: { metadata?: { resourceVersion?: string }; code?: number; reason?: string; message?: string } & V1Pod;
}

type WatchEnd = 'ended' | 'expired' | 'stalled' | 'aborted';

class Expired extends Error {}

/** Consumes one watch stream; resolves with how it ended, rejects when it broke. */
function consume(stream: NodeJS.ReadableStream, stallMs: number, signal: AbortSignal, abortStream: () => void, onLine: (line: WatchLine) => void): Promise<WatchEnd> {
  return new Promise((resolve, reject) => {
    const lines = new LineSplitter();
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (end: WatchEnd | Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      stream.removeListener('data', onData);
      stream.removeListener('end', onEnd);
      stream.removeListener('close', onClose);
      stream.removeListener('error', onError);
      if (end instanceof Error) reject(end);
      else resolve(end);
    };
    const arm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        abortStream();
        finish('stalled');
      }, stallMs);
    };
    const handle = (text: string): void => {
      let parsed: WatchLine;
      try {
        parsed = JSON.parse(text) as WatchLine;
      } catch {
        return; // not JSON: skip the line, keep the stream
      }
      try {
        onLine(parsed);
      } catch (e) {
        abortStream();
        finish(e instanceof Expired ? 'expired' : e instanceof Error ? e : new Error(String(e)));
      }
    };
    const onData = (chunk: Buffer | string): void => {
      arm();
      for (const l of lines.push(chunk)) {
        if (settled) return;
        handle(l);
      }
    };
    const onEnd = (): void => {
      for (const l of lines.flush()) if (!settled) handle(l);
      finish('ended');
    };
    const onClose = (): void => {
      const complete = (stream as NodeJS.ReadableStream & { complete?: boolean }).complete;
      if (complete === false) finish(new RuntimeError('Unavailable', 'kubernetes watch pods: the connection closed mid-stream; resubscribing'));
      else onEnd();
    };
    const onError = (e: Error): void => finish(new RuntimeError('Unavailable', `kubernetes watch pods: ${e.message}; resubscribing`, { cause: e }));
    const onAbort = (): void => {
      abortStream();
      finish('aborted');
    };
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('close', onClose);
    stream.on('error', onError);
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) onAbort();
    else arm();
  });
}

/** Watches managed Pods until `signal` aborts; see the header. */
export function subscribePodEvents(source: PodEventsSource, onEvent: (e: RuntimeEvent) => void, signal: AbortSignal, onError: ((e: Error) => void) | undefined, opts: PodEventsOptions): void {
  const initial = opts.backoffInitialMs ?? 200;
  const max = opts.backoffMaxMs ?? 5_000;
  const now = opts.now ?? Date.now;
  // Below the watchdog's timeout, so an idle watch ends cleanly instead of being taken for stalled (informer.ts).
  const timeoutSeconds = opts.watchTimeoutSeconds ?? (() => idleWatchSeconds(opts.stallTimeoutMs));
  const report = (e: unknown): void => {
    try {
      onError?.(e instanceof Error ? e : new Error(String(e)));
    } catch {
      // a failing error handler must not end the subscription
    }
  };
  const emit = (events: RuntimeEvent[]): void => {
    for (const e of events) {
      try {
        onEvent(e);
      } catch (err) {
        report(err);
      }
    }
  };
  let known = new Map<string, PodSummary>();
  let seeded = false;
  let resourceVersion: string | undefined;

  const relist = async (): Promise<void> => {
    const { resourceVersion: rv, items } = await source.list(signal);
    const next = new Map<string, PodSummary>();
    const objects = new Map<string, V1Pod>();
    for (const pod of items) {
      const ns = pod.metadata?.namespace;
      const name = pod.metadata?.name;
      if (!ns || !name) continue;
      next.set(podId(ns, name), summarize(pod));
      objects.set(podId(ns, name), pod);
    }
    if (seeded) {
      // What changed while nobody watched (410 Expired): as events.
      const t = now();
      for (const [id, s] of next) emit(transitionEvents(id, known.get(id), s, false, t));
      for (const [id, s] of known) if (!next.has(id)) emit(transitionEvents(id, s, s, true, t));
    }
    known = next;
    seeded = true;
    resourceVersion = rv;
  };

  const onLine = (line: WatchLine): void => {
    const o = line.object;
    const rv = o?.metadata?.resourceVersion;
    switch (line.type) {
      case 'BOOKMARK':
        if (rv) resourceVersion = rv;
        return;
      case 'ERROR':
        if (o?.code === 410 || o?.reason === 'Expired' || o?.reason === 'Gone') throw new Expired();
        throw new RuntimeError('Unavailable', `kubernetes watch pods: ${o?.message ?? 'error event'} (${o?.code ?? '?'})`);
      case 'ADDED':
      case 'MODIFIED':
      case 'DELETED': {
        if (rv) resourceVersion = rv;
        const ns = o?.metadata?.namespace;
        const name = o?.metadata?.name;
        if (!o || !ns || !name) return;
        const id = podId(ns, name);
        const s = summarize(o);
        const deleted = line.type === 'DELETED';
        emit(transitionEvents(id, known.get(id), s, deleted, now()));
        if (deleted) known.delete(id);
        else known.set(id, s);
        return;
      }
      default:
        return;
    }
  };

  void (async () => {
    let delay = initial;
    while (!signal.aborted) {
      try {
        if (resourceVersion === undefined) await relist();
        const watch = new AbortController();
        const relay = (): void => watch.abort(signal.reason);
        signal.addEventListener('abort', relay, { once: true });
        try {
          const stream = await source.watch(resourceVersion!, timeoutSeconds(), watch.signal);
          delay = initial;
          const end = await consume(stream, opts.stallTimeoutMs, signal, () => watch.abort(), onLine);
          if (end === 'aborted' || signal.aborted) return;
          if (end === 'expired') {
            resourceVersion = undefined; // relist at once: routine after compaction
            continue;
          }
          if (end === 'stalled') {
            report(new RuntimeError('Unavailable', `kubernetes watch pods: no event or bookmark for ${opts.stallTimeoutMs} ms (a stalled connection); resubscribing`));
            continue;
          }
          // 'ended': the server's timeoutSeconds; reopen from the last resourceVersion.
        } finally {
          signal.removeEventListener('abort', relay);
          watch.abort();
        }
      } catch (e) {
        if (signal.aborted) return;
        if (e instanceof RuntimeError && (e.cause as { code?: number } | undefined)?.code === 410) {
          resourceVersion = undefined; // a refused start with 410: relist
          continue;
        }
        report(e);
        await sleep(withJitter(delay), undefined, { signal }).catch(() => undefined);
        delay = Math.min(delay * 2, max);
      }
    }
  })();
}
