// Mirrors the controller's events about custom resources (Instance,
// InstancePool, InstanceClaim) to core/v1 Events, so `kubectl describe` and
// `kubectl get events` show them. As client-go's event recorder: the event
// names the object by uid; a repeat of the same (object, type, reason,
// message) is folded into the existing Event by a patch of count and
// lastTimestamp instead of a new object. Best effort: a bounded queue, one
// request at a time, failures dropped (events are never worth blocking the
// controller or growing memory).
import { hostname } from 'node:os';
import { CoreV1Api, type CoreV1Event, type KubeConfig } from '@kubernetes/client-node';
import type { BerthEvent, EventRecorder } from '../../controller/event-recorder.js';
import type { Kind } from '../../spec/schema.js';
import { API_VERSION } from '../../spec/schema.js';
import { callOptions, isKubeError, kubeError, MERGE_PATCH } from './kube-api.js';

export interface InvolvedObject {
  uid: string;
  resourceVersion?: string;
}

export interface EventSinkOptions {
  kubeConfig: KubeConfig;
  recorder: EventRecorder;
  /** The custom resource an event is about, when it is one this source serves. */
  lookup(kind: Kind, namespace: string, name: string): InvolvedObject | undefined;
  component?: string;
  /** reportingInstance: this replica's identity. */
  instance?: string;
  maxQueue?: number;
  logger?: { debug(o: object, msg?: string): void };
}

interface Folded {
  name: string;
  namespace: string;
  count: number;
  firstTimestamp: Date;
}

const KINDS = new Set<string>(['Instance', 'InstancePool', 'InstanceClaim']);
const MAX_MESSAGE = 1024;
const MAX_FOLDED = 4096;

export class EventSink {
  private readonly api: CoreV1Api;
  private readonly queue: Array<{ event: BerthEvent; involved: InvolvedObject }> = [];
  private readonly folded = new Map<string, Folded>();
  private readonly abort = new AbortController();
  private unsubscribe: (() => void) | undefined;
  private draining = false;
  readonly stats = { created: 0, folded: 0, dropped: 0, failed: 0 };

  constructor(private readonly o: EventSinkOptions) {
    this.api = o.kubeConfig.makeApiClient(CoreV1Api);
  }

  start(): void {
    this.unsubscribe ??= this.o.recorder.subscribe((e) => this.offer(e));
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.abort.abort(new Error('event sink stopped'));
    this.queue.length = 0;
  }

  /** Resolves when the queue is empty (tests). */
  async idle(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((this.queue.length || this.draining) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  }

  private offer(e: BerthEvent): void {
    const { kind, namespace, name } = e.involvedObject;
    if (!KINDS.has(kind) || this.abort.signal.aborted) return;
    const involved = this.o.lookup(kind as Kind, namespace, name);
    if (!involved) return;
    if (this.queue.length >= (this.o.maxQueue ?? 1000)) {
      this.queue.shift();
      this.stats.dropped++;
    }
    this.queue.push({ event: { ...e, involvedObject: { ...e.involvedObject } }, involved });
    if (!this.draining) void this.drain();
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.queue.length && !this.abort.signal.aborted) {
        const item = this.queue.shift()!;
        try {
          await this.write(item.event, item.involved);
        } catch (e) {
          this.stats.failed++;
          this.o.logger?.debug({ err: (e as Error).message, reason: item.event.reason }, 'event not written');
        }
      }
    } finally {
      this.draining = false;
    }
  }

  private async write(e: BerthEvent, involved: InvolvedObject): Promise<void> {
    const { kind, namespace, name } = e.involvedObject;
    const message = e.message.length > MAX_MESSAGE ? `${e.message.slice(0, MAX_MESSAGE - 3)}...` : e.message;
    const foldKey = `${involved.uid}\u0000${e.type}\u0000${e.reason}\u0000${message}`;
    const now = new Date(e.lastTimestamp);
    const signal = this.abort.signal;
    const prior = this.folded.get(foldKey);
    if (prior) {
      prior.count++;
      try {
        await this.api.patchNamespacedEvent({ namespace: prior.namespace, name: prior.name, body: { count: prior.count, lastTimestamp: now.toISOString() } }, callOptions({ signal, contentType: MERGE_PATCH }));
        this.stats.folded++;
        this.touch(foldKey, prior);
        return;
      } catch (err) {
        if (!isKubeError(kubeError(err, 'patch event'), 404)) throw kubeError(err, 'patch event');
        this.folded.delete(foldKey); // expired (event TTL): create a new one
      }
    }
    const body: CoreV1Event = {
      metadata: { name: `${name}.${eventSuffix()}`, namespace },
      involvedObject: { apiVersion: API_VERSION, kind, namespace, name, uid: involved.uid, ...(involved.resourceVersion ? { resourceVersion: involved.resourceVersion } : {}) },
      type: e.type,
      reason: e.reason,
      message,
      count: 1,
      firstTimestamp: now,
      lastTimestamp: now,
      source: { component: this.o.component ?? 'berth', host: hostname() },
      reportingComponent: this.o.component ?? 'berth',
      reportingInstance: this.o.instance ?? hostname(),
    };
    let created: CoreV1Event;
    try {
      created = await this.api.createNamespacedEvent({ namespace, body }, callOptions({ signal }));
    } catch (err) {
      throw kubeError(err, 'create event');
    }
    this.stats.created++;
    this.touch(foldKey, { name: created.metadata?.name ?? body.metadata.name!, namespace, count: 1, firstTimestamp: now });
  }

  private touch(key: string, f: Folded): void {
    this.folded.delete(key);
    this.folded.set(key, f);
    if (this.folded.size > MAX_FOLDED) this.folded.delete(this.folded.keys().next().value!);
  }
}

/** client-go names events <object>.<unix nanos in hex>: unique per object, sortable. */
function eventSuffix(): string {
  const nanos = BigInt(Date.now()) * 1_000_000n + (process.hrtime.bigint() % 1_000_000n);
  return nanos.toString(16);
}
