import { PassThrough } from 'node:stream';
import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { RuntimeEvent } from '../types.js';
import { subscribePodEvents, summarize, transitionEvents, type PodEventsSource, type PodList, type PodSummary } from './events.js';

const LABELS = { 'berth.dev/managed-by': 'ctl', 'berth.dev/kind': 'Instance', 'berth.dev/namespace': 'default', 'berth.dev/name': 'web' };

function pod(name: string, phase: string, opts: { ready?: boolean; exitCode?: number; reason?: string; rv?: string; deleting?: boolean } = {}): V1Pod {
  const state =
    phase === 'Running'
      ? { running: { startedAt: '2026-01-02T03:04:05Z' } }
      : phase === 'Succeeded' || phase === 'Failed'
        ? { terminated: { exitCode: opts.exitCode ?? 0, reason: opts.reason ?? 'Completed', startedAt: '2026-01-02T03:04:05Z', finishedAt: '2026-01-02T03:05:05Z' } }
        : { waiting: { reason: 'ContainerCreating' } };
  return {
    metadata: { name, namespace: 'default', resourceVersion: opts.rv ?? '1', labels: LABELS, ...(opts.deleting ? { deletionTimestamp: '2026-01-02T03:06:00Z' } : {}) },
    spec: { containers: [{ name: 'main', image: 'x:1' }] },
    status: { phase, conditions: [{ type: 'Ready', status: opts.ready ? 'True' : 'False' }], containerStatuses: [{ name: 'main', ready: !!opts.ready, restartCount: 0, image: '', imageID: '', state }] },
  } as unknown as V1Pod;
}

const actions = (events: RuntimeEvent[]): string[] => events.map((e) => e.action);
const s = (p: V1Pod): PodSummary => summarize(p);

describe('transitionEvents', () => {
  const id = 'default/web';
  it('start when a Pod begins to run, die (and oom) when it exits, destroy when it goes', () => {
    expect(actions(transitionEvents(id, s(pod('web', 'Pending')), s(pod('web', 'Running')), false, 0))).toEqual(['start']);
    expect(actions(transitionEvents(id, s(pod('web', 'Running')), s(pod('web', 'Failed', { exitCode: 137, reason: 'OOMKilled' })), false, 0))).toEqual(['die', 'oom']);
    expect(actions(transitionEvents(id, s(pod('web', 'Failed', { exitCode: 1 })), s(pod('web', 'Failed', { exitCode: 1 })), true, 0))).toEqual(['destroy']);
    // Deleted while running: it died with it.
    expect(actions(transitionEvents(id, s(pod('web', 'Running')), s(pod('web', 'Running', { deleting: true })), true, 0))).toEqual(['die', 'destroy']);
  });

  it('health_status when Ready flips while running; nothing for a Pod that stays as it was', () => {
    expect(actions(transitionEvents(id, s(pod('web', 'Running')), s(pod('web', 'Running', { ready: true })), false, 0))).toEqual(['health_status']);
    expect(transitionEvents(id, s(pod('web', 'Running', { ready: true })), s(pod('web', 'Running', { ready: true })), false, 0)).toEqual([]);
    expect(transitionEvents(id, undefined, s(pod('web', 'Pending')), false, 0)).toEqual([]);
  });

  it('an exit during graceful deletion is still an exit', () => {
    expect(actions(transitionEvents(id, s(pod('web', 'Running', { deleting: true })), s(pod('web', 'Failed', { exitCode: 143, deleting: true })), false, 0))).toEqual(['die']);
  });

  it('carries the labels and the exit time', () => {
    const [die] = transitionEvents(id, s(pod('web', 'Running')), s(pod('web', 'Failed', { exitCode: 2 })), false, 0);
    expect(die).toEqual({ action: 'die', containerId: id, labels: LABELS, time: Date.UTC(2026, 0, 2, 3, 5, 5) });
  });
});

/** A scripted source: lists answer from `lists`, watches hand out PassThrough streams the test writes to. */
function fakeSource(lists: PodList[]) {
  const watches: Array<{ rv: string; stream: PassThrough; signal: AbortSignal }> = [];
  const source: PodEventsSource = {
    list: async () => lists.shift() ?? { resourceVersion: '999', items: [] },
    watch: async (rv, _t, signal) => {
      const stream = new PassThrough();
      signal.addEventListener('abort', () => stream.destroy(), { once: true });
      watches.push({ rv, stream, signal });
      return stream;
    },
  };
  return { source, watches };
}

const line = (type: string, object: unknown): string => `${JSON.stringify({ type, object })}\n`;

async function until<T>(f: () => T | undefined, ms = 2000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('subscribePodEvents', () => {
  it('lists once, watches from its resourceVersion, and maps events', async () => {
    const { source, watches } = fakeSource([{ resourceVersion: '10', items: [pod('web', 'Pending')] }]);
    const events: RuntimeEvent[] = [];
    const stop = new AbortController();
    subscribePodEvents(source, (e) => events.push(e), stop.signal, undefined, { stallTimeoutMs: 10_000 });
    const w = await until(() => watches[0]);
    expect(w.rv).toBe('10');
    w.stream.write(line('MODIFIED', pod('web', 'Running', { rv: '11' })));
    w.stream.write(line('BOOKMARK', { kind: 'Pod', metadata: { resourceVersion: '15' } }));
    await until(() => (events.length > 0 ? true : undefined));
    expect(actions(events)).toEqual(['start']);
    // The server ends the watch (timeoutSeconds): reopened from the bookmark, no error.
    w.stream.end();
    const w2 = await until(() => watches[1]);
    expect(w2.rv).toBe('15');
    stop.abort();
  });

  it('relists on 410 Expired and delivers what changed in the gap', async () => {
    const { source, watches } = fakeSource([
      { resourceVersion: '10', items: [pod('a', 'Running'), pod('b', 'Running')] },
      { resourceVersion: '50', items: [pod('a', 'Failed', { exitCode: 3 })] },
    ]);
    const events: RuntimeEvent[] = [];
    const errors: Error[] = [];
    const stop = new AbortController();
    subscribePodEvents(source, (e) => events.push(e), stop.signal, (e) => errors.push(e), { stallTimeoutMs: 10_000 });
    const w = await until(() => watches[0]);
    w.stream.write(line('ERROR', { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version' }));
    const w2 = await until(() => watches[1]);
    expect(w2.rv).toBe('50');
    expect(events.map((e) => `${e.action} ${e.containerId}`)).toEqual(['die default/a', 'die default/b', 'destroy default/b']);
    expect(errors).toEqual([]);
    stop.abort();
  });

  it('takes a silent watch as stalled: aborts it, reports, and reopens from the last resourceVersion', async () => {
    const { source, watches } = fakeSource([{ resourceVersion: '10', items: [] }]);
    const errors: Error[] = [];
    const stop = new AbortController();
    subscribePodEvents(source, () => undefined, stop.signal, (e) => errors.push(e), { stallTimeoutMs: 50 });
    const w = await until(() => watches[0]);
    const w2 = await until(() => watches[1]);
    expect(w.signal.aborted).toBe(true);
    expect(w2.rv).toBe('10');
    expect(errors[0]?.message).toMatch(/no event or bookmark for 50 ms/);
    stop.abort();
  });

  it('reports a broken stream and resubscribes', async () => {
    const { source, watches } = fakeSource([{ resourceVersion: '10', items: [] }]);
    const errors: Error[] = [];
    const stop = new AbortController();
    subscribePodEvents(source, () => undefined, stop.signal, (e) => errors.push(e), { stallTimeoutMs: 10_000, backoffInitialMs: 1 });
    const w = await until(() => watches[0]);
    w.stream.destroy(new Error('socket hang up'));
    await until(() => watches[1]);
    expect(errors[0]?.message).toMatch(/socket hang up/);
    stop.abort();
  });
});
