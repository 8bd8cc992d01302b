import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../time/clock.js';
import { WorkQueue } from './workqueue.js';
import { workQueueMetrics } from './workqueue-metrics.js';

async function value(registry: Registry, metric: string, labels: Record<string, string>): Promise<number | undefined> {
  const base = metric.replace(/_(count|sum)$/, '');
  const m = registry.getSingleMetric(base);
  if (!m) return undefined;
  const { values } = await m.get();
  return values.find(
    (v) => ((v as { metricName?: string }).metricName ?? base) === metric && Object.entries(labels).every(([k, l]) => v.labels[k] === l),
  )?.value;
}

describe('workQueueMetrics', () => {
  it('exports controller-runtime workqueue metrics labelled by queue name', async () => {
    const registry = new Registry();
    const clock = new FakeClock(1_000_000);
    const q = new WorkQueue<string>({ name: 'instance', clock, metrics: workQueueMetrics(registry, 'instance', clock) });
    const other = new WorkQueue<string>({ name: 'pool', clock, metrics: workQueueMetrics(registry, 'pool', clock) });

    q.add('a');
    q.add('a');
    q.add('b');
    other.add('x');
    expect(await value(registry, 'workqueue_adds_total', { name: 'instance' })).toBe(2);
    expect(await value(registry, 'workqueue_depth', { name: 'instance' })).toBe(2);
    expect(await value(registry, 'workqueue_depth', { name: 'pool' })).toBe(1);

    clock.advance(2000);
    expect(await q.get()).toBe('a');
    expect(await value(registry, 'workqueue_depth', { name: 'instance' })).toBe(1);
    expect(await value(registry, 'workqueue_queue_duration_seconds_count', { name: 'instance' })).toBe(1);
    expect(await value(registry, 'workqueue_queue_duration_seconds_sum', { name: 'instance' })).toBe(2);

    clock.advance(3000);
    expect(await value(registry, 'workqueue_unfinished_work_seconds', { name: 'instance' })).toBe(3);
    expect(await value(registry, 'workqueue_longest_running_processor_seconds', { name: 'instance' })).toBe(3);
    expect(await value(registry, 'workqueue_unfinished_work_seconds', { name: 'pool' })).toBe(0);
    q.done('a');
    expect(await value(registry, 'workqueue_work_duration_seconds_sum', { name: 'instance' })).toBe(3);
    expect(await value(registry, 'workqueue_unfinished_work_seconds', { name: 'instance' })).toBe(0);

    q.addRateLimited('a');
    q.addAfter('c', 10);
    expect(await value(registry, 'workqueue_retries_total', { name: 'instance' })).toBe(2);
    expect(await value(registry, 'workqueue_retries_total', { name: 'pool' })).toBe(0);

    const text = await registry.metrics();
    for (const name of [
      'workqueue_depth',
      'workqueue_adds_total',
      'workqueue_queue_duration_seconds_bucket',
      'workqueue_work_duration_seconds_bucket',
      'workqueue_retries_total',
    ]) {
      expect(text).toContain(`${name}{`);
    }
    expect(text).toContain('workqueue_work_duration_seconds_bucket{le="1e-8",name="instance"}');
    expect(text).toContain('workqueue_work_duration_seconds_bucket{le="1000",name="instance"}');
    q.shutDown();
    other.shutDown();
  });
});
