import { describe, expect, it } from 'vitest';
import { desiredPool } from '../desired.js';
import { configHash } from '../../spec/hash.js';
import { DEFAULT_POLICY, effectiveTemplate } from '../../spec/policy.js';
import { InstancePoolSchema } from '../../spec/schema.js';

const runners = (spec: Record<string, unknown> = {}) =>
  InstancePoolSchema.parse({
    apiVersion: 'berth.dev/v1alpha1',
    kind: 'InstancePool',
    metadata: { name: 'runners', namespace: 'sandboxes', annotations: { 'berth.dev/prune': 'disabled' } },
    spec: {
      template: { image: 'python:3.12-slim', network: 'none', resources: { memory: '256Mi' }, healthCheck: { exec: { command: ['python', '-c', "print('OK')"] } } },
      minReady: 3,
      ...spec,
    },
  });

describe('desiredPool', () => {
  it('is the pool’s key, spec, effective template and its hash, and annotations', () => {
    const pool = runners();
    const d = desiredPool(pool);
    expect(d.key).toEqual({ kind: 'InstancePool', namespace: 'sandboxes', name: 'runners' });
    expect(d.spec).toBe(pool.spec);
    expect(d.template.resources).toEqual({ nanoCpus: 1e9, memoryBytes: 256 * 1024 * 1024, pids: 512 });
    expect(d.hash).toEqual(configHash(effectiveTemplate(pool.spec.template)));
    expect(d.annotations).toEqual({ 'berth.dev/prune': 'disabled' });
  });

  it('keeps pool sizes, timeouts, recycling and the update strategy out of the hash', () => {
    const a = desiredPool(runners());
    const b = desiredPool(runners({ minReady: 1, maxSize: 9, maxAgeSeconds: 60, idleTimeoutSeconds: 60, recycle: { policy: 'Reuse', maxUses: 2 }, claimTimeoutSeconds: 5, updateStrategy: { maxSurge: 3 } }));
    expect(b.hash).toEqual(a.hash);
  });

  it('hashes a template change, and applies the controller policy’s defaults', () => {
    const a = desiredPool(runners());
    const b = desiredPool(InstancePoolSchema.parse({ ...runners(), spec: { ...runners().spec, template: { ...runners().spec.template, image: 'python:3.13-slim' } } }));
    expect(b.hash.hash).not.toBe(a.hash.hash);
    const tight = desiredPool(runners(), { ...DEFAULT_POLICY, defaults: { cpus: '0.5', memory: '1Gi', pids: 64 }, allowedCapAdd: [] });
    expect(tight.template.resources).toEqual({ nanoCpus: 5e8, memoryBytes: 256 * 1024 * 1024, pids: 64 });
  });
});
