import { describe, expect, it } from 'vitest';
import { InstancePoolSchema, InstanceSchema, InstanceClaimSchema, resolveKind } from './schema.js';

const issues = (r: { success: boolean; error?: { issues: { path: PropertyKey[]; message: string; code: string }[] } }) =>
  (r.error?.issues ?? []).map((i) => ({ path: i.path.join('.'), code: i.code, message: i.message })).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));

describe('Instance schema', () => {
  it('applies defaults to a minimal instance', () => {
    const r = InstanceSchema.parse({ apiVersion: 'berth.dev/v1alpha1', kind: 'Instance', metadata: { name: 'web' }, spec: { image: 'nginx:1' } });
    expect(r).toEqual({
      apiVersion: 'berth.dev/v1alpha1',
      kind: 'Instance',
      metadata: { name: 'web', namespace: 'default' },
      spec: {
        image: 'nginx:1',
        imagePullPolicy: 'IfNotPresent',
        env: [],
        ports: [],
        network: 'bridge',
        mounts: [],
        resources: {},
        security: { capDrop: ['ALL'], capAdd: [], noNewPrivileges: true, readOnlyRootFilesystem: false, privileged: false },
        labels: {},
        stopGracePeriodSeconds: 10,
        state: 'Running',
        restartPolicy: 'Always',
      },
    });
  });

  it('applies nested defaults (env value, port protocol and hostIP, probe timings, partial security)', () => {
    const r = InstanceSchema.parse({
      apiVersion: 'berth.dev/v1alpha1',
      kind: 'Instance',
      metadata: { name: 'web', namespace: 'team-a' },
      spec: {
        image: 'nginx:1',
        env: [{ name: 'EMPTY' }],
        ports: [{ containerPort: 80 }],
        mounts: [{ type: 'tmpfs', target: '/tmp' }],
        security: { readOnlyRootFilesystem: true },
        healthCheck: { http: { port: 80 } },
      },
    });
    expect(r.spec.env).toEqual([{ name: 'EMPTY', value: '' }]);
    expect(r.spec.ports).toEqual([{ containerPort: 80, protocol: 'TCP', hostIP: '127.0.0.1' }]);
    expect(r.spec.mounts).toEqual([{ type: 'tmpfs', target: '/tmp', readOnly: false }]);
    expect(r.spec.security).toEqual({ capDrop: ['ALL'], capAdd: [], noNewPrivileges: true, readOnlyRootFilesystem: true, privileged: false });
    expect(r.spec.healthCheck).toEqual({
      http: { port: 80, path: '/' },
      initialDelaySeconds: 0,
      periodSeconds: 10,
      timeoutSeconds: 2,
      failureThreshold: 3,
      successThreshold: 1,
    });
  });

  it('gives each parse its own default arrays', () => {
    const input = { apiVersion: 'berth.dev/v1alpha1', kind: 'Instance', metadata: { name: 'web' }, spec: { image: 'nginx:1' } };
    const a = InstanceSchema.parse(input);
    a.spec.security.capDrop.push('MUTATED');
    const b = InstanceSchema.parse(input);
    expect(b.spec.security.capDrop).toEqual(['ALL']);
  });

  it('rejects unknown fields at every level, naming them', () => {
    const r = InstanceSchema.safeParse({
      apiVersion: 'berth.dev/v1alpha1',
      kind: 'Instance',
      metadata: { name: 'web', colour: 'blue' },
      spec: { image: 'nginx:1', replicas: 2, resources: { memry: '1Gi' } },
    });
    expect(issues(r)).toEqual([
      { path: 'metadata', code: 'unrecognized_keys', message: 'Unrecognized key: "colour"' },
      { path: 'spec', code: 'unrecognized_keys', message: 'Unrecognized key: "replicas"' },
      { path: 'spec.resources', code: 'unrecognized_keys', message: 'Unrecognized key: "memry"' },
    ]);
  });

  it('accepts and ignores a status (kubectl get -o yaml round-trips)', () => {
    const r = InstanceSchema.safeParse({ apiVersion: 'berth.dev/v1alpha1', kind: 'Instance', metadata: { name: 'web' }, spec: { image: 'x' }, status: { phase: 'running' } });
    expect(r.success).toBe(true);
  });

  it.each([['Web'], ['web_1'], ['-web'], ['web-'], [''], ['a'.repeat(64)], ['web.example']])('rejects the invalid name %j', (name) => {
    const r = InstanceSchema.safeParse({ apiVersion: 'berth.dev/v1alpha1', kind: 'Instance', metadata: { name }, spec: { image: 'x' } });
    expect(r.success).toBe(false);
    expect(issues(r).map((i) => i.path)).toEqual(['metadata.name']);
  });

  it.each([['web'], ['web-1'], ['1'], ['a'.repeat(63)]])('accepts the name %j', (name) => {
    expect(InstanceSchema.safeParse({ apiVersion: 'berth.dev/v1alpha1', kind: 'Instance', metadata: { name }, spec: { image: 'x' } }).success).toBe(true);
  });

  it.each([['2 gigs'], ['-1Gi'], ['1GB'], ['0'], [0], [1.5], ['']])('rejects the memory quantity %j', (memory) => {
    const r = InstanceSchema.safeParse({ apiVersion: 'berth.dev/v1alpha1', kind: 'Instance', metadata: { name: 'web' }, spec: { image: 'x', resources: { memory } } });
    expect(issues(r)).toEqual([{ path: 'spec.resources.memory', code: 'custom', message: expect.stringMatching(/^invalid quantity /) }]);
  });

  it.each([['512Mi'], ['1Gi'], ['1G'], ['536870912'], [536870912], ['0.5Gi']])('accepts the memory quantity %j', (memory) => {
    expect(InstanceSchema.safeParse({ apiVersion: 'berth.dev/v1alpha1', kind: 'Instance', metadata: { name: 'web' }, spec: { image: 'x', resources: { memory } } }).success).toBe(true);
  });

  it.each([['lots'], ['-1'], ['0'], ['1.5 cores'], ['0m']])('rejects the cpu quantity %j', (cpus) => {
    const r = InstanceSchema.safeParse({ apiVersion: 'berth.dev/v1alpha1', kind: 'Instance', metadata: { name: 'web' }, spec: { image: 'x', resources: { cpus } } });
    expect(issues(r).map((i) => i.path)).toEqual(['spec.resources.cpus']);
  });

  it.each([
    [{}, 'exactly one of exec, http or tcp is required (found none)'],
    [{ exec: { command: ['true'] }, tcp: { port: 80 } }, 'exactly one of exec, http or tcp is required (found exec, tcp)'],
    [{ exec: { command: ['true'] }, http: { port: 80 }, tcp: { port: 80 } }, 'exactly one of exec, http or tcp is required (found exec, http, tcp)'],
  ])('a healthCheck needs exactly one of exec/http/tcp: %j', (healthCheck, message) => {
    const r = InstanceSchema.safeParse({ apiVersion: 'berth.dev/v1alpha1', kind: 'Instance', metadata: { name: 'web' }, spec: { image: 'x', healthCheck } });
    expect(issues(r)).toEqual([{ path: 'spec.healthCheck', code: 'custom', message }]);
  });

  it.each([[{ exec: { command: ['python', '-c', "print('OK')"] } }], [{ http: { port: 8080, path: '/healthz' } }], [{ tcp: { port: 5432 } }]])('accepts the healthCheck %j', (healthCheck) => {
    expect(InstanceSchema.safeParse({ apiVersion: 'berth.dev/v1alpha1', kind: 'Instance', metadata: { name: 'web' }, spec: { image: 'x', healthCheck } }).success).toBe(true);
  });

  it('requires a source for volume and bind mounts, not for tmpfs', () => {
    const r = InstanceSchema.safeParse({
      apiVersion: 'berth.dev/v1alpha1',
      kind: 'Instance',
      metadata: { name: 'web' },
      spec: { image: 'x', mounts: [{ type: 'tmpfs', target: '/tmp' }, { type: 'volume', target: '/data' }, { type: 'bind', target: 'relative', source: '/x' }] },
    });
    expect(issues(r)).toEqual([
      { path: 'spec.mounts.1.source', code: 'custom', message: 'required for a volume mount' },
      { path: 'spec.mounts.2.target', code: 'invalid_format', message: 'must be an absolute path' },
    ]);
  });

  it('refuses duplicate environment variable names', () => {
    const r = InstanceSchema.safeParse({
      apiVersion: 'berth.dev/v1alpha1',
      kind: 'Instance',
      metadata: { name: 'web' },
      spec: { image: 'x', env: [{ name: 'A', value: '1' }, { name: 'B' }, { name: 'A', value: '2' }] },
    });
    expect(issues(r)).toEqual([{ path: 'spec.env.2.name', code: 'custom', message: 'duplicate environment variable "A"' }]);
  });

  it('refuses container labels under the reserved berth.dev/ prefix', () => {
    const r = InstanceSchema.safeParse({
      apiVersion: 'berth.dev/v1alpha1',
      kind: 'Instance',
      metadata: { name: 'web', labels: { 'berth.dev/team': 'ok-on-metadata' } },
      spec: { image: 'x', labels: { 'berth.dev/managed-by': 'someone-else', app: 'web' } },
    });
    expect(issues(r)).toEqual([{ path: 'spec.labels.berth.dev/managed-by', code: 'custom', message: 'the berth.dev/ label prefix is reserved for berth' }]);
  });

  it('rejects wrong types, enums and ranges', () => {
    const r = InstanceSchema.safeParse({
      apiVersion: 'berth.dev/v1alpha1',
      kind: 'Instance',
      metadata: { name: 'web' },
      spec: { image: 'x', ports: [{ containerPort: 70000, protocol: 'SCTP' }], restartPolicy: 'Sometimes', stopGracePeriodSeconds: '10', command: 'sh -c true' },
    });
    expect(issues(r).map((i) => `${i.path} ${i.code}`)).toEqual([
      'spec.command invalid_type',
      'spec.ports.0.containerPort too_big',
      'spec.ports.0.protocol invalid_value',
      'spec.restartPolicy invalid_value',
      'spec.stopGracePeriodSeconds invalid_type',
    ]);
  });
});

describe('InstancePool schema', () => {
  const pool = (spec: Record<string, unknown>) => ({ apiVersion: 'berth.dev/v1alpha1', kind: 'InstancePool', metadata: { name: 'py' }, spec });

  it('applies defaults', () => {
    const r = InstancePoolSchema.parse(pool({ template: { image: 'python:3.12' } }));
    expect(r.spec).toMatchObject({
      minReady: 1,
      recycle: { policy: 'Replace' },
      claimTimeoutSeconds: 30,
      updateStrategy: { maxSurge: 1, maxUnavailable: 0 },
    });
    expect(r.spec.maxSize).toBeUndefined();
    expect(r.spec.template.security.capDrop).toEqual(['ALL']);
  });

  it('rejects maxSize below minReady', () => {
    const r = InstancePoolSchema.safeParse(pool({ template: { image: 'python:3.12' }, minReady: 5, maxSize: 3 }));
    expect(issues(r)).toEqual([{ path: 'spec.maxSize', code: 'custom', message: 'must be at least minReady (5)' }]);
  });

  it('accepts maxSize equal to minReady', () => {
    expect(InstancePoolSchema.safeParse(pool({ template: { image: 'python:3.12' }, minReady: 3, maxSize: 3 })).success).toBe(true);
  });

  it('rejects an update strategy that can make no progress', () => {
    const r = InstancePoolSchema.safeParse(pool({ template: { image: 'python:3.12' }, updateStrategy: { maxSurge: 0, maxUnavailable: 0 } }));
    expect(issues(r)).toEqual([{ path: 'spec.updateStrategy', code: 'custom', message: 'maxSurge and maxUnavailable cannot both be 0' }]);
  });

  it('rejects lifecycle fields of an Instance inside the template', () => {
    const r = InstancePoolSchema.safeParse(pool({ template: { image: 'python:3.12', restartPolicy: 'Never' } }));
    expect(issues(r)).toEqual([{ path: 'spec.template', code: 'unrecognized_keys', message: 'Unrecognized key: "restartPolicy"' }]);
  });
});

describe('InstanceClaim schema', () => {
  it('needs a poolRef name that is a valid name', () => {
    expect(InstanceClaimSchema.safeParse({ apiVersion: 'berth.dev/v1alpha1', kind: 'InstanceClaim', metadata: { name: 'c1' }, spec: { poolRef: { name: 'py' }, ttlSeconds: 60 } }).success).toBe(true);
    const r = InstanceClaimSchema.safeParse({ apiVersion: 'berth.dev/v1alpha1', kind: 'InstanceClaim', metadata: { name: 'c1' }, spec: { poolRef: { name: 'Py' }, ttlSeconds: 0 } });
    expect(issues(r).map((i) => i.path)).toEqual(['spec.poolRef.name', 'spec.ttlSeconds']);
  });
});

describe('resolveKind', () => {
  it.each([
    ['Instance', 'Instance'],
    ['instances', 'Instance'],
    ['inst', 'Instance'],
    ['pool', 'InstancePool'],
    ['InstancePools', 'InstancePool'],
    ['claim', 'InstanceClaim'],
    ['pods', undefined],
  ])('%s -> %s', (word, kind) => {
    expect(resolveKind(word)).toBe(kind);
  });
});
