import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { labelSelector, observedFromPod, parsePodId, podState, runFinished, startFailure } from './observe.js';

const LABELS = {
  'berth.dev/managed-by': 'ctl-1',
  'berth.dev/kind': 'InstancePool',
  'berth.dev/namespace': 'default',
  'berth.dev/name': 'py',
  'berth.dev/member': '7f3a1',
  'berth.dev/config-hash': 'v1-0123456789abcdef0123456789abcdef',
  'berth.dev/hash-version': 'v1',
};
const ANNOTATIONS = { 'berth.dev/created-at': '1767323045000', 'berth.dev/config-fields': 'env=cd34,image=ef56' };

type PodPatch = { metadata?: Record<string, unknown>; status?: Record<string, unknown> };

function pod(p: PodPatch = {}): V1Pod {
  return {
    metadata: { name: 'berth-default-py-7f3a1', namespace: 'default', uid: 'u-1', creationTimestamp: new Date('2026-01-02T03:04:00Z'), labels: LABELS, annotations: ANNOTATIONS, ...p.metadata },
    spec: {
      containers: [{ name: 'main', image: 'python:3', ports: [{ containerPort: 8080, protocol: 'TCP' }, { containerPort: 53, protocol: 'UDP', hostPort: 5353, hostIP: '127.0.0.1' }] }],
      nodeName: 'node-1',
    },
    status: { phase: 'Pending', ...p.status },
  } as V1Pod;
}

const conditions = (ready: boolean) => [
  { type: 'Ready', status: ready ? 'True' : 'False' },
  { type: 'ContainersReady', status: ready ? 'True' : 'False' },
  { type: 'PodScheduled', status: 'True' },
];

const IDENTITY = {
  id: 'default/berth-default-py-7f3a1',
  name: 'berth-default-py-7f3a1',
  managedBy: 'ctl-1',
  kind: 'InstancePool',
  namespace: 'default',
  owner: 'py',
  member: '7f3a1',
  configHash: 'v1-0123456789abcdef0123456789abcdef',
  hashVersion: 'v1',
  configFields: { env: 'cd34', image: 'ef56' },
  createdAt: 1767323045000,
  hostPorts: [5353],
  ports: [
    { containerPort: 53, protocol: 'UDP', hostPort: 5353, hostIP: '127.0.0.1' },
    { containerPort: 8080, protocol: 'TCP' },
  ],
};

describe('observedFromPod', () => {
  it('Pending (pulling): created, identity from labels and annotations', () => {
    const o = observedFromPod(pod({ status: { containerStatuses: [{ name: 'main', ready: false, restartCount: 0, image: 'python:3', imageID: '', state: { waiting: { reason: 'ContainerCreating' } } }] } }));
    expect(o).toEqual({ ...IDENTITY, labels: { ...LABELS, ...ANNOTATIONS }, state: 'created' });
  });

  it('Running and Ready: running, healthy, startedAt and the Pod IP', () => {
    const o = observedFromPod(
      pod({
        status: {
          phase: 'Running',
          podIP: '10.244.0.7',
          conditions: conditions(true),
          containerStatuses: [{ name: 'main', ready: true, restartCount: 0, image: 'python:3', imageID: '', state: { running: { startedAt: '2026-01-02T03:04:05Z' } } }],
        },
      }),
    );
    expect(o).toMatchObject({ ...IDENTITY, state: 'running', engineHealth: 'healthy', startedAt: Date.UTC(2026, 0, 2, 3, 4, 5), ip: '10.244.0.7' });
    expect(o?.exitCode).toBeUndefined();
  });

  it('Running but not Ready: starting', () => {
    const o = observedFromPod(pod({ status: { phase: 'Running', conditions: conditions(false), containerStatuses: [{ name: 'main', ready: false, restartCount: 0, image: '', imageID: '', state: { running: {} } }] } }));
    expect(o).toMatchObject({ state: 'running', engineHealth: 'starting' });
  });

  it('Succeeded: exited 0 with its times', () => {
    const o = observedFromPod(
      pod({
        status: {
          phase: 'Succeeded',
          conditions: conditions(false),
          containerStatuses: [
            { name: 'main', ready: false, restartCount: 0, image: '', imageID: '', state: { terminated: { exitCode: 0, reason: 'Completed', startedAt: new Date('2026-01-02T03:04:05Z'), finishedAt: new Date('2026-01-02T03:05:05Z') } } },
          ],
        },
      }),
    );
    expect(o).toMatchObject({ state: 'exited', exitCode: 0, oomKilled: false, startedAt: Date.UTC(2026, 0, 2, 3, 4, 5), finishedAt: Date.UTC(2026, 0, 2, 3, 5, 5) });
    expect(o?.engineHealth).toBeUndefined();
  });

  it('Failed 137 OOMKilled: exited, oom-killed', () => {
    const o = observedFromPod(
      pod({ status: { phase: 'Failed', containerStatuses: [{ name: 'main', ready: false, restartCount: 0, image: '', imageID: '', state: { terminated: { exitCode: 137, reason: 'OOMKilled', finishedAt: '2026-01-02T03:05:05Z' } } }] } }),
    );
    expect(o).toMatchObject({ state: 'exited', exitCode: 137, oomKilled: true, finishedAt: Date.UTC(2026, 0, 2, 3, 5, 5) });
  });

  it('Failed while the container still runs (the kubelet marks DeadlineExceeded before it kills): running', () => {
    const o = observedFromPod(pod({ status: { phase: 'Failed', reason: 'DeadlineExceeded', containerStatuses: [{ name: 'main', ready: false, restartCount: 0, image: '', imageID: '', state: { running: { startedAt: '2026-01-02T03:04:05Z' } } }] } }));
    expect(o?.state).toBe('running');
    expect(o?.exitCode).toBeUndefined();
  });

  it('Failed without a container exit (evicted): dead, exit unknown', () => {
    const o = observedFromPod(pod({ status: { phase: 'Failed', reason: 'Evicted' } }));
    expect(o?.state).toBe('dead');
    expect(o?.exitCode).toBeUndefined();
  });

  it('terminating: removing', () => {
    const o = observedFromPod(pod({ metadata: { deletionTimestamp: new Date(), deletionGracePeriodSeconds: 10 }, status: { phase: 'Running', conditions: conditions(true) } }));
    expect(o?.state).toBe('removing');
  });

  it('image pull failure while Pending: created, unhealthy, with the reason for start()', () => {
    const p = pod({ status: { containerStatuses: [{ name: 'main', ready: false, restartCount: 0, image: '', imageID: '', state: { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "nope:1"' } } }] } });
    expect(observedFromPod(p)).toMatchObject({ state: 'created', engineHealth: 'unhealthy' });
    expect(startFailure(p)).toEqual({ reason: 'ImagePullBackOff', message: 'Back-off pulling image "nope:1"', imagePull: true });
  });

  it('reports berth.dev/container-name as the name, and falls back to creationTimestamp', () => {
    const o = observedFromPod(pod({ metadata: { name: 'berth-default-py-7f3a1-abcd1234', annotations: { 'berth.dev/container-name': 'berth-default-py-7f3a1' } } }));
    expect(o).toMatchObject({ id: 'default/berth-default-py-7f3a1-abcd1234', name: 'berth-default-py-7f3a1', createdAt: Date.UTC(2026, 0, 2, 3, 4, 0) });
    expect(o?.labels['berth.dev/container-name']).toBeUndefined();
  });

  it('is undefined for a Pod without a complete berth identity', () => {
    expect(observedFromPod(pod({ metadata: { labels: { app: 'x' } } }))).toBeUndefined();
  });

  it('podState: Unknown is running (the node is unreachable), a waiting container in a Running Pod is restarting', () => {
    expect(podState(pod({ status: { phase: 'Unknown' } }))).toBe('running');
    expect(observedFromPod(pod({ status: { phase: 'Unknown' } }))?.engineHealth).toBe('unhealthy');
    expect(podState(pod({ status: { phase: 'Running', containerStatuses: [{ name: 'main', ready: false, restartCount: 1, image: '', imageID: '', state: { waiting: { reason: 'CrashLoopBackOff' } } }] } }))).toBe('restarting');
  });
});

describe('ids and selectors', () => {
  it('parsePodId takes <namespace>/<name> only', () => {
    expect(parsePodId('default/web')).toEqual({ namespace: 'default', name: 'web' });
    expect(parsePodId('0'.repeat(64))).toBeUndefined();
    expect(parsePodId('a/b/c')).toBeUndefined();
    expect(parsePodId('/b')).toBeUndefined();
  });

  it('labelSelector: managed-by, then the filter', () => {
    expect(labelSelector({ managedBy: 'ctl-1' })).toBe('berth.dev/managed-by=ctl-1');
    expect(labelSelector({ managedBy: 'ctl-1', kind: 'Instance', namespace: 'default', name: 'web' })).toBe(
      'berth.dev/managed-by=ctl-1,berth.dev/kind=Instance,berth.dev/namespace=default,berth.dev/name=web',
    );
  });
});

describe('runFinished', () => {
  const terminated = { containerStatuses: [{ name: 'main', state: { terminated: { exitCode: 4 } } }] };
  it('is true for a terminal phase and for an exited container the kubelet still calls Running', () => {
    expect(runFinished(pod({ status: { phase: 'Failed', ...terminated } }))).toBe(true);
    expect(runFinished(pod({ status: { phase: 'Succeeded' } }))).toBe(true);
    expect(runFinished(pod({ status: { phase: 'Running', ...terminated } }))).toBe(true);
  });
  it('is false for a running, pending or deleted Pod', () => {
    expect(runFinished(pod({ status: { phase: 'Running', containerStatuses: [{ name: 'main', state: { running: {} } }] } }))).toBe(false);
    expect(runFinished(pod())).toBe(false);
    expect(runFinished(pod({ metadata: { deletionTimestamp: new Date() }, status: { phase: 'Failed', ...terminated } }))).toBe(false);
  });
});
