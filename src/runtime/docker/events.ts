// The engine's events stream, filtered to managed containers and the actions
// berth reacts to. Newline-delimited JSON whose lines chunks may split; on end
// or error (engine restart) it reports and resubscribes with backoff until the
// signal aborts. Events only wake reconciles: a missed one is caught by resync.
import { StringDecoder } from 'node:string_decoder';
import { setTimeout as sleep } from 'node:timers/promises';
import type Dockerode from 'dockerode';
import { RuntimeError } from '../errors.js';
import { LABEL, type RuntimeEvent } from '../types.js';
import { dockerCall } from './call.js';

export const EVENT_ACTIONS = ['die', 'oom', 'health_status', 'destroy', 'start', 'stop'] as const;

/**
 * The engine's filter: container events of containers that carry the
 * managed-by label (any value: the runtime does not know the controller id),
 * for berth's actions. `health_status` matches the engine's
 * "health_status: healthy" actions (it compares the part before the colon).
 */
export const EVENT_FILTERS: { type: Array<'container'>; label: string[]; event: string[] } = { type: ['container'], label: [LABEL.managedBy], event: [...EVENT_ACTIONS] };

/** The filter for one controller's containers (the engine matches label=value), or for every managed one. */
export function eventFilters(managedBy?: string): typeof EVENT_FILTERS {
  return managedBy === undefined ? EVENT_FILTERS : { ...EVENT_FILTERS, label: [`${LABEL.managedBy}=${managedBy}`] };
}

/** Splits a byte stream into lines; a line (or a UTF-8 character) cut across chunks is joined. */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';

  push(chunk: Buffer | string): string[] {
    this.pending += typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    const parts = this.pending.split('\n');
    this.pending = parts.pop() ?? '';
    return parts.map((l) => l.trim()).filter((l) => l.length > 0);
  }

  /** What is left when the stream ends (a last line without a newline). */
  flush(): string[] {
    const rest = (this.pending + this.decoder.end()).trim();
    this.pending = '';
    return rest ? [rest] : [];
  }
}

// Attributes the engine adds to a container event beside the container's labels.
const ENGINE_ATTRIBUTES = new Set(['image', 'name', 'exitCode', 'signal', 'execID', 'oldName', 'container']);

export interface EngineEvent {
  Type?: string;
  Action?: string;
  status?: string;
  id?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
  time?: number;
  timeNano?: number;
}

/** One engine event as a RuntimeEvent; undefined for anything that is not a container event. */
export function parseEngineEvent(raw: unknown): RuntimeEvent | undefined {
  if (!raw || typeof raw !== 'object') return undefined;
  const e = raw as EngineEvent;
  if (e.Type !== undefined && e.Type !== 'container') return undefined;
  const fullAction = e.Action ?? e.status;
  const containerId = e.Actor?.ID ?? e.id;
  if (typeof fullAction !== 'string' || typeof containerId !== 'string' || !containerId) return undefined;
  // "health_status: healthy" -> health_status; "exec_start: sh -c ..." -> exec_start.
  const action = fullAction.split(':')[0]!.trim();
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(e.Actor?.Attributes ?? {})) {
    if (!ENGINE_ATTRIBUTES.has(k) && typeof v === 'string') labels[k] = v;
  }
  const time = typeof e.timeNano === 'number' ? Math.floor(e.timeNano / 1e6) : typeof e.time === 'number' ? e.time * 1000 : Date.now();
  return { action, containerId, labels, time };
}

export interface EventsOptions {
  connectTimeoutMs: number;
  /** Only this controller's containers. */
  managedBy?: string;
  /** Backoff between resubscriptions: initial, doubling to max, with jitter. */
  backoffInitialMs?: number;
  backoffMaxMs?: number;
}

/** The engine's `since` value for an event time in nanoseconds: "seconds.nanoseconds". */
export function sinceArg(timeNano: number): string {
  const ns = BigInt(Math.trunc(timeNano));
  const s = ns / 1_000_000_000n;
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0');
  return `${s}.${frac}`;
}

/** Resolves when the stream ends; rejects when it fails; destroys it when the signal aborts. */
function consume(stream: NodeJS.ReadableStream, signal: AbortSignal, onLine: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const lines = new LineSplitter();
    const readable = stream as NodeJS.ReadableStream & { destroy?: () => void };
    const finish = (err?: unknown): void => {
      signal.removeEventListener('abort', onAbort);
      stream.removeListener('data', onData);
      stream.removeListener('end', onEnd);
      stream.removeListener('close', onEnd);
      stream.removeListener('error', finish);
      if (err === undefined) {
        for (const l of lines.flush()) onLine(l);
        resolve();
      } else reject(err);
    };
    const onData = (chunk: Buffer | string): void => {
      for (const l of lines.push(chunk)) onLine(l);
    };
    const onEnd = (): void => finish();
    const onAbort = (): void => {
      readable.destroy?.();
      finish();
    };
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('close', onEnd);
    stream.on('error', finish);
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) onAbort();
  });
}

const withJitter = (ms: number): number => Math.round(ms * (0.8 + Math.random() * 0.4));

/**
 * Subscribes until `signal` aborts. Every loss of the stream is reported to
 * onError, then the subscription is retried after 200 ms, doubling to 5 s
 * (reset once a stream is open). A resubscription asks for events since the
 * last one seen, so the gap is replayed when the engine still has it.
 */
export function subscribeEvents(
  docker: Dockerode,
  onEvent: (e: RuntimeEvent) => void,
  signal: AbortSignal,
  onError: ((e: Error) => void) | undefined,
  opts: EventsOptions,
): void {
  const initial = opts.backoffInitialMs ?? 200;
  const max = opts.backoffMaxMs ?? 5_000;
  const report = (e: unknown): void => {
    try {
      onError?.(e instanceof Error ? e : new Error(String(e)));
    } catch {
      // a failing error handler must not end the subscription
    }
  };
  const handleLine = (line: string, seen: (timeNano: number) => void): void => {
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch {
      return; // not JSON: skip the line, keep the stream
    }
    const event = parseEngineEvent(raw);
    const timeNano = (raw as EngineEvent).timeNano;
    if (typeof timeNano === 'number') seen(timeNano);
    if (!event) return;
    try {
      onEvent(event);
    } catch (e) {
      report(e);
    }
  };

  void (async () => {
    let delay = initial;
    let lastTimeNano: number | undefined;
    while (!signal.aborted) {
      try {
        const options: Dockerode.GetEventsOptions = { filters: eventFilters(opts.managedBy) };
        if (lastTimeNano !== undefined) options.since = sinceArg(lastTimeNano - 1_000) as unknown as number; // a little early: timeNano lost precision as a double
        const stream = await dockerCall('events', opts.connectTimeoutMs, signal, (s) => docker.getEvents({ ...options, abortSignal: s }));
        delay = initial;
        await consume(stream, signal, (line) => handleLine(line, (t) => (lastTimeNano = t)));
        if (signal.aborted) return;
        throw new RuntimeError('Unavailable', 'docker events: the stream ended (engine restarted?); resubscribing');
      } catch (e) {
        if (signal.aborted) return;
        report(e);
        await sleep(withJitter(delay), undefined, { signal }).catch(() => undefined);
        delay = Math.min(delay * 2, max);
      }
    }
  })();
}
