// Prometheus metrics for a WorkQueue, named as controller-runtime's
// (pkg/metrics/workqueue.go), one series per queue under the label name=<queue>.
// Several queues may share one registry: the metric objects are created once
// per registry and reused.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { systemClock, type Clock } from '../time/clock.js';
import type { WorkQueueMetrics } from './workqueue.js';

// controller-runtime: prometheus.ExponentialBuckets(10e-9, 10, 12), 10 ns .. 1000 s.
const DURATION_BUCKETS = Array.from({ length: 12 }, (_, i) => 1e-8 * 10 ** i);

interface InFlight {
  name: string;
  clock: Pick<Clock, 'now'>;
  /** Keys handed out, with when (a key is never handed out twice at once). */
  startedAt: Map<string, number>;
}

interface Shared {
  depth: Gauge<'name'>;
  adds: Counter<'name'>;
  queueDuration: Histogram<'name'>;
  workDuration: Histogram<'name'>;
  retries: Counter<'name'>;
  queues: Set<InFlight>;
}

const byRegistry = new WeakMap<Registry, Shared>();

function shared(registry: Registry): Shared {
  const existing = byRegistry.get(registry);
  if (existing) return existing;
  const queues = new Set<InFlight>();
  const registers = [registry];
  // Sums and maxima over the queues' in-flight keys, computed at scrape time.
  const perName = (reduce: (acc: number, seconds: number) => number) =>
    function (this: Gauge<'name'>): void {
      const values = new Map<string, number>();
      for (const q of queues) {
        let acc = values.get(q.name) ?? 0;
        const now = q.clock.now();
        for (const at of q.startedAt.values()) acc = reduce(acc, Math.max(0, now - at) / 1000);
        values.set(q.name, acc);
      }
      for (const [name, value] of values) this.set({ name }, value);
    };
  const s: Shared = {
    depth: new Gauge({ name: 'workqueue_depth', help: 'Current depth of workqueue', labelNames: ['name'], registers }),
    adds: new Counter({ name: 'workqueue_adds_total', help: 'Total number of adds handled by workqueue', labelNames: ['name'], registers }),
    queueDuration: new Histogram({
      name: 'workqueue_queue_duration_seconds',
      help: 'How long in seconds an item stays in workqueue before being requested',
      labelNames: ['name'],
      buckets: DURATION_BUCKETS,
      registers,
    }),
    workDuration: new Histogram({
      name: 'workqueue_work_duration_seconds',
      help: 'How long in seconds processing an item from workqueue takes',
      labelNames: ['name'],
      buckets: DURATION_BUCKETS,
      registers,
    }),
    retries: new Counter({ name: 'workqueue_retries_total', help: 'Total number of retries handled by workqueue', labelNames: ['name'], registers }),
    queues,
  };
  new Gauge({
    name: 'workqueue_unfinished_work_seconds',
    help:
      'How many seconds of work has been done that is in progress and hasn\'t been observed by work_duration. ' +
      'Large values indicate stuck threads. One can deduce the number of stuck threads by observing the rate at which this increases.',
    labelNames: ['name'],
    registers,
    collect: perName((acc, seconds) => acc + seconds),
  });
  new Gauge({
    name: 'workqueue_longest_running_processor_seconds',
    help: 'How many seconds has the longest running processor for workqueue been running.',
    labelNames: ['name'],
    registers,
    collect: perName((acc, seconds) => Math.max(acc, seconds)),
  });
  byRegistry.set(registry, s);
  return s;
}

/**
 * Metrics hooks for one queue: `new WorkQueue({ name, metrics: workQueueMetrics(registry, name) })`.
 * clock: the queue's clock (for the in-flight gauges computed at scrape time).
 */
export function workQueueMetrics<K extends string = string>(
  registry: Registry,
  name: string,
  clock: Pick<Clock, 'now'> = systemClock,
): WorkQueueMetrics<K> {
  const m = shared(registry);
  const inFlight: InFlight = { name, clock, startedAt: new Map() };
  m.queues.add(inFlight);
  const labels = { name };
  // Series exist from the start, at zero.
  m.depth.set(labels, 0);
  m.adds.inc(labels, 0);
  m.retries.inc(labels, 0);
  return {
    added: () => m.adds.inc(labels),
    depth: (n) => m.depth.set(labels, n),
    started: (key, queuedMs) => {
      inFlight.startedAt.set(key, clock.now());
      m.queueDuration.observe(labels, queuedMs / 1000);
    },
    finished: (key, workMs) => {
      inFlight.startedAt.delete(key);
      m.workDuration.observe(labels, workMs / 1000);
    },
    retried: () => m.retries.inc(labels),
  };
}
