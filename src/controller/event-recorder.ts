// Kubernetes-style events in a bounded buffer: recent history for `describe`
// and `events -w`, never unbounded memory. Repeats of the same event are
// folded into a count, as the Kubernetes event recorder does.
import type { Kind } from '../spec/schema.js';

export interface BerthEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  involvedObject: { kind: Kind | 'Controller'; namespace: string; name: string };
  count: number;
  firstTimestamp: string;
  lastTimestamp: string;
  /** Monotonic sequence, so watchers can resume. */
  seq: number;
}

export type EventInput = Pick<BerthEvent, 'type' | 'reason' | 'message' | 'involvedObject'>;

export class EventRecorder {
  private readonly buffer: BerthEvent[] = [];
  private readonly listeners = new Set<(e: BerthEvent) => void>();
  private seq = 0;

  constructor(
    private readonly capacity = 1000,
    private readonly clock: { now(): number } = Date,
    private readonly sink?: (e: BerthEvent) => void,
  ) {}

  record(input: EventInput): BerthEvent {
    const now = new Date(this.clock.now()).toISOString();
    const last = this.buffer.at(-1);
    let event: BerthEvent;
    if (last && sameEvent(last, input)) {
      last.count++;
      last.lastTimestamp = now;
      last.seq = ++this.seq;
      event = last;
    } else {
      event = { ...input, count: 1, firstTimestamp: now, lastTimestamp: now, seq: ++this.seq };
      this.buffer.push(event);
      if (this.buffer.length > this.capacity) this.buffer.shift();
    }
    this.sink?.(event);
    for (const l of this.listeners) l(event);
    return event;
  }

  list(filter?: { kind?: string; namespace?: string; name?: string }): BerthEvent[] {
    return this.buffer.filter(
      (e) =>
        (!filter?.kind || e.involvedObject.kind === filter.kind) &&
        (!filter?.namespace || e.involvedObject.namespace === filter.namespace) &&
        (!filter?.name || e.involvedObject.name === filter.name),
    );
  }

  subscribe(listener: (e: BerthEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

const sameEvent = (a: BerthEvent, b: EventInput): boolean =>
  a.type === b.type &&
  a.reason === b.reason &&
  a.message === b.message &&
  a.involvedObject.kind === b.involvedObject.kind &&
  a.involvedObject.namespace === b.involvedObject.namespace &&
  a.involvedObject.name === b.involvedObject.name;
