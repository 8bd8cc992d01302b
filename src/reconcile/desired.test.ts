import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY } from '../spec/policy.js';
import { InstanceSchema, templateOfInstance } from '../spec/schema.js';
import { containerNameFor, desiredInstance, ownerLabels } from './desired.js';

const alice = InstanceSchema.parse({
  apiVersion: 'berth.dev/v1alpha1',
  kind: 'Instance',
  metadata: { name: 'alice', namespace: 'tenants', labels: { tier: 'free' }, annotations: { 'berth.dev/prune': 'disabled' } },
  spec: {
    image: 'berth-test/busybox:1',
    command: ['sleep', '3600'],
    env: [{ name: 'TENANT', value: 'alice' }],
    resources: { memory: '256Mi' },
    state: 'Stopped',
    restartPolicy: 'OnFailure',
    maxAgeSeconds: 86400,
    ttlSecondsAfterFinished: 60,
    failedRetentionSeconds: 600,
  },
});

describe('templateOfInstance', () => {
  it('is the spec without its lifecycle policy', () => {
    const t = templateOfInstance(alice.spec);
    expect(Object.keys(t).sort()).toEqual(['command', 'env', 'image', 'imagePullPolicy', 'labels', 'mounts', 'network', 'ports', 'resources', 'security', 'stopGracePeriodSeconds']);
    expect(alice.spec.state).toBe('Stopped'); // the resource is not modified
  });
});

describe('desiredInstance', () => {
  it('carries the key, spec, effective template, hash and annotations', () => {
    const d = desiredInstance(alice);
    expect(d.key).toEqual({ kind: 'Instance', namespace: 'tenants', name: 'alice' });
    expect(d.spec).toBe(alice.spec);
    expect(d.template.resources).toEqual({ nanoCpus: 1e9, memoryBytes: 256 * 2 ** 20, pids: 512 });
    expect(d.template).not.toHaveProperty('restartPolicy');
    expect(d.hash.hash).toMatch(/^v1-[0-9a-f]{32}$/);
    expect(d.annotations).toEqual({ 'berth.dev/prune': 'disabled' });
  });

  it('applies the controller defaults it is given', () => {
    const d = desiredInstance(alice, { ...DEFAULT_POLICY, defaults: { cpus: '2', memory: '1Gi', pids: 100 } });
    expect(d.template.resources).toEqual({ nanoCpus: 2e9, memoryBytes: 256 * 2 ** 20, pids: 100 });
    expect(d.hash.hash).not.toBe(desiredInstance(alice).hash.hash);
  });

  it('has empty annotations when the resource has none', () => {
    const bare = InstanceSchema.parse({ apiVersion: 'berth.dev/v1alpha1', kind: 'Instance', metadata: { name: 'bare' }, spec: { image: 'x' } });
    expect(desiredInstance(bare).annotations).toEqual({});
  });
});

describe('containerNameFor', () => {
  it('is berth-<namespace>-<name>, with the member appended for a pool member', () => {
    expect(containerNameFor({ kind: 'Instance', namespace: 'default', name: 'web' })).toBe('berth-default-web');
    expect(containerNameFor({ kind: 'InstancePool', namespace: 'default', name: 'py' }, '7f3a')).toBe('berth-default-py-7f3a');
  });
});

describe('ownerLabels', () => {
  const hash = { version: '1', hash: 'v1-0123456789abcdef0123456789abcdef', fields: { image: 'aaaaaaaa', env: 'bbbbbbbb' } };

  it('records ownership, identity, hash and creation time', () => {
    expect(ownerLabels('ctl-1', { kind: 'Instance', namespace: 'tenants', name: 'alice' }, hash, 1_700_000_000_000)).toEqual({
      'berth.dev/managed-by': 'ctl-1',
      'berth.dev/kind': 'Instance',
      'berth.dev/namespace': 'tenants',
      'berth.dev/name': 'alice',
      'berth.dev/config-hash': 'v1-0123456789abcdef0123456789abcdef',
      'berth.dev/hash-version': '1',
      'berth.dev/created-at': '1700000000000',
      'berth.dev/config-fields': 'env=bbbbbbbb,image=aaaaaaaa',
    });
  });

  it('adds the member of a pool', () => {
    expect(ownerLabels('ctl-1', { kind: 'InstancePool', namespace: 'default', name: 'py' }, hash, 5, '7f3a')).toMatchObject({
      'berth.dev/kind': 'InstancePool',
      'berth.dev/name': 'py',
      'berth.dev/member': '7f3a',
      'berth.dev/created-at': '5',
    });
  });
});
