// The quick start runs the controller on examples/: every spec there must load cleanly.
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { desiredInstance } from '../reconcile/desired.js';
import { loadSpecPaths } from './load.js';

const examples = relative(process.cwd(), fileURLToPath(new URL('../../examples', import.meta.url)));

describe('examples/', () => {
  it('loads with zero errors', async () => {
    const r = await loadSpecPaths([examples]);
    expect(r.errors.map(String)).toEqual([]);
    expect(r.resources.map(({ resource: x }) => `${x.kind}/${x.metadata.namespace}/${x.metadata.name}`).sort()).toEqual([
      'Instance/jobs/nightly-report',
      'Instance/tenants/alice-bot',
      'Instance/tenants/bob-bot',
      'InstancePool/agents/ci-agents',
      'InstancePool/sandboxes/python-runners',
      'InstancePool/sandboxes/runners',
    ]);
  });

  it('uses the locally built images, and its Instances hash', async () => {
    const r = await loadSpecPaths([examples]);
    for (const { resource } of r.resources) {
      const template = resource.kind === 'Instance' ? resource.spec : resource.kind === 'InstancePool' ? resource.spec.template : undefined;
      // berth-examples/python:3: scripts/build-python-image.sh (see examples-python.test.ts).
      expect(['berth-test/busybox:1', 'berth-examples/python:3']).toContain(template?.image);
      if (resource.kind === 'Instance') expect(desiredInstance(resource).hash.hash).toMatch(/^v1-/);
    }
  });
});
