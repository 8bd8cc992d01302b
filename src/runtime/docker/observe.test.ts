import type Dockerode from 'dockerode';
import { describe, expect, it } from 'vitest';
import { decodeLabels, engineTime, healthFromStatus, listFilters, needsInspect, observedFromInspect, observedFromSummary, withExitDetails } from './observe.js';

const LABELS = {
  'berth.dev/managed-by': 'ctl-1',
  'berth.dev/kind': 'InstancePool',
  'berth.dev/namespace': 'default',
  'berth.dev/name': 'py',
  'berth.dev/member': '7f3a',
  'berth.dev/config-hash': 'v1-0123456789abcdef0123456789abcdef',
  'berth.dev/hash-version': '1',
  'berth.dev/config-fields': 'args=1a2b3c4d,image=5e6f7a8b',
  'berth.dev/created-at': '1700000000123',
  team: 'a',
};

// Shapes as Docker 20.10 returns them.
const runningSummary = {
  Id: 'aaa',
  Names: ['/berth-default-py-7f3a'],
  Image: 'python:3.12',
  ImageID: 'sha256:1',
  Command: 'sleep infinity',
  Created: 1_700_000_500,
  Ports: [
    { IP: '127.0.0.1', PrivatePort: 8080, PublicPort: 49153, Type: 'tcp' },
    { IP: '127.0.0.1', PrivatePort: 8080, PublicPort: 49153, Type: 'tcp' },
    { PrivatePort: 9090, Type: 'tcp' },
    { IP: '127.0.0.1', PrivatePort: 53, PublicPort: 5353, Type: 'udp' },
  ],
  Labels: LABELS,
  State: 'running',
  Status: 'Up 5 minutes (healthy)',
  HostConfig: { NetworkMode: 'default' },
  NetworkSettings: { Networks: { bridge: { IPAddress: '172.17.0.3' } } },
  Mounts: [],
} as unknown as Dockerode.ContainerInfo;

const exitedInspect = {
  Id: 'bbb',
  Created: '2026-11-21T23:30:40.279216654Z',
  Name: '/berth-default-web',
  State: {
    Status: 'exited',
    Running: false,
    OOMKilled: true,
    ExitCode: 137,
    StartedAt: '2026-11-21T23:30:40.485477771Z',
    FinishedAt: '2026-11-21T23:31:40.486117924Z',
  },
  Config: {
    Labels: { 'berth.dev/managed-by': 'ctl-1', 'berth.dev/kind': 'Instance', 'berth.dev/namespace': 'default', 'berth.dev/name': 'web' },
    ExposedPorts: { '8080/tcp': {}, '8081/udp': {} },
  },
  HostConfig: { PortBindings: { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }], '8081/udp': [{ HostIp: '127.0.0.1', HostPort: '18081' }] } },
  NetworkSettings: { Ports: {}, IPAddress: '', Networks: { bridge: { IPAddress: '' } } },
} as unknown as Dockerode.ContainerInspectInfo;

describe('listFilters', () => {
  it('always filters on managed-by and adds kind, namespace and name when given', () => {
    expect(listFilters({ managedBy: 'c' })).toEqual({ label: ['berth.dev/managed-by=c'] });
    expect(listFilters({ managedBy: 'c', kind: 'Instance', namespace: 'ns', name: 'web' })).toEqual({
      label: ['berth.dev/managed-by=c', 'berth.dev/kind=Instance', 'berth.dev/namespace=ns', 'berth.dev/name=web'],
    });
  });
});

describe('decodeLabels', () => {
  it('needs a complete identity with a known kind', () => {
    expect(decodeLabels({ 'berth.dev/managed-by': 'c', 'berth.dev/kind': 'Instance', 'berth.dev/namespace': 'd' })).toBeUndefined();
    expect(decodeLabels({ 'berth.dev/managed-by': 'c', 'berth.dev/kind': 'Pod', 'berth.dev/namespace': 'd', 'berth.dev/name': 'n' })).toBeUndefined();
    expect(decodeLabels({ 'berth.dev/managed-by': 'c', 'berth.dev/kind': 'toString', 'berth.dev/namespace': 'd', 'berth.dev/name': 'n' })).toBeUndefined();
  });

  it('ignores a created-at that is not epoch milliseconds', () => {
    expect(decodeLabels({ ...LABELS, 'berth.dev/created-at': '2026-01-01' })?.createdAtLabel).toBeUndefined();
  });
});

describe('observedFromSummary', () => {
  it('decodes labels, ports, health and address from one list entry', () => {
    expect(observedFromSummary(runningSummary)).toEqual({
      id: 'aaa',
      name: 'berth-default-py-7f3a',
      labels: LABELS,
      managedBy: 'ctl-1',
      kind: 'InstancePool',
      namespace: 'default',
      owner: 'py',
      member: '7f3a',
      configHash: 'v1-0123456789abcdef0123456789abcdef',
      hashVersion: '1',
      configFields: { args: '1a2b3c4d', image: '5e6f7a8b' },
      createdAt: 1_700_000_000_123,
      state: 'running',
      engineHealth: 'healthy',
      ip: '172.17.0.3',
      hostPorts: [5353, 49153],
      ports: [
        { containerPort: 53, protocol: 'UDP', hostIP: '127.0.0.1', hostPort: 5353 },
        { containerPort: 8080, protocol: 'TCP', hostIP: '127.0.0.1', hostPort: 49153 },
        { containerPort: 9090, protocol: 'TCP' },
      ],
    });
  });

  it('falls back to the engine creation time and skips what is not a berth identity', () => {
    const noCreatedAt = { ...runningSummary, Labels: { ...LABELS, 'berth.dev/created-at': '' } } as Dockerode.ContainerInfo;
    expect(observedFromSummary(noCreatedAt)?.createdAt).toBe(1_700_000_500_000);
    expect(observedFromSummary({ ...runningSummary, Labels: { team: 'a' } } as Dockerode.ContainerInfo)).toBeUndefined();
  });
});

describe('observedFromInspect', () => {
  it('reports exit details, fixed host ports and exposed ports of a stopped container', () => {
    expect(observedFromInspect(exitedInspect)).toEqual({
      id: 'bbb',
      name: 'berth-default-web',
      labels: exitedInspect.Config.Labels,
      managedBy: 'ctl-1',
      kind: 'Instance',
      namespace: 'default',
      owner: 'web',
      createdAt: Date.parse('2026-11-21T23:30:40.279Z'),
      state: 'exited',
      exitCode: 137,
      oomKilled: true,
      startedAt: Date.parse('2026-11-21T23:30:40.485Z'),
      finishedAt: Date.parse('2026-11-21T23:31:40.486Z'),
      hostPorts: [18081],
      ports: [
        { containerPort: 8080, protocol: 'TCP' },
        { containerPort: 8081, protocol: 'UDP' },
      ],
    });
  });

  it('gives no exit details to a running container, and reads bound ports and the address', () => {
    const running = {
      ...exitedInspect,
      State: { ...exitedInspect.State, Status: 'running', Running: true, FinishedAt: '0001-01-01T00:00:00Z', Health: { Status: 'starting' } },
      NetworkSettings: { Ports: { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '49154' }], '8081/udp': null }, IPAddress: '172.17.0.9', Networks: {} },
    } as unknown as Dockerode.ContainerInspectInfo;
    const o = observedFromInspect(running)!;
    expect(o).toMatchObject({ state: 'running', engineHealth: 'starting', ip: '172.17.0.9', hostPorts: [18081, 49154] });
    expect(o.exitCode).toBeUndefined();
    expect(o.finishedAt).toBeUndefined();
    expect(o.ports).toEqual([
      { containerPort: 8080, protocol: 'TCP', hostIP: '127.0.0.1', hostPort: 49154 },
      { containerPort: 8081, protocol: 'UDP' },
    ]);
  });
});

describe('withExitDetails', () => {
  it('lays the exit details of an inspect over the list entry', () => {
    const listed = observedFromSummary({ ...runningSummary, State: 'exited', Status: 'Exited (137) 1 minute ago', Ports: [] } as Dockerode.ContainerInfo)!;
    const merged = withExitDetails(listed, observedFromInspect(exitedInspect)!);
    expect(merged).toMatchObject({ id: 'aaa', owner: 'py', state: 'exited', exitCode: 137, oomKilled: true, hostPorts: [18081] });
    expect(merged.finishedAt).toBe(Date.parse('2026-11-21T23:31:40.486Z'));
  });
});

describe('small readers', () => {
  it('needsInspect only for states with an exit to report', () => {
    expect(['created', 'running', 'paused', 'restarting', 'exited', 'dead', 'removing'].filter((s) => needsInspect(s as never))).toEqual(['exited', 'dead']);
  });

  it('healthFromStatus reads the list status text', () => {
    expect(healthFromStatus('Up 1 second (health: starting)')).toBe('starting');
    expect(healthFromStatus('Up 2 hours (unhealthy)')).toBe('unhealthy');
    expect(healthFromStatus('Up 2 hours')).toBeUndefined();
    expect(healthFromStatus(undefined)).toBeUndefined();
  });

  it('engineTime treats the zero time as never', () => {
    expect(engineTime('0001-01-01T00:00:00Z')).toBeUndefined();
    expect(engineTime('')).toBeUndefined();
    expect(engineTime('2026-01-02T03:04:05.123456789Z')).toBe(Date.UTC(2026, 0, 2, 3, 4, 5, 123));
  });
});
