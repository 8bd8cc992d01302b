// manifests/rbac.yaml grants what berth calls, checked by the real
// apiserver's authorizer (`kubectl auth can-i --as` the controller's service
// account): reading and finalizing its resources, status, Pods and their exec
// and logs, Events, NetworkPolicies for `network: none`, metrics.k8s.io for
// usage (issue 14, item 10: usage was silently empty on clusters with
// metrics-server), and its Lease; and nothing beyond its namespace for Leases.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthorizationV1Api } from '@kubernetes/client-node';
import { testKubeConfig, testKubeconfigPath } from './support/kube-cluster.js';
import { noKube } from './support/provided.js';
import { fileURLToPath } from 'node:url';

const KUBECTL = process.env['BERTH_TEST_KUBECTL'] ?? 'kubectl';
const MANIFESTS = fileURLToPath(new URL('../manifests', import.meta.url));
const AS = 'system:serviceaccount:berth-system:berth-controller';

function kubectl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(KUBECTL, ['--kubeconfig', testKubeconfigPath(), ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

const FILES = ['namespace.yaml', 'serviceaccount.yaml', 'rbac.yaml'].map((f) => join(MANIFESTS, f));

describe.skipIf(noKube())('manifests/rbac.yaml on the real authorizer', () => {
  beforeAll(async () => {
    for (const f of FILES) {
      const r = await kubectl(['apply', '-f', f]);
      expect(r.code, r.stderr).toBe(0);
    }
  });

  afterAll(async () => {
    for (const f of [...FILES].reverse()) await kubectl(['delete', '--ignore-not-found', '--wait=false', '-f', f]);
  });

  const allowed: Array<[string, string, string?]> = [
    ['watch', 'instances.berth.dev', 'tenants'],
    ['patch', 'instancepools.berth.dev', 'tenants'],
    ['update', 'instanceclaims.berth.dev/status', 'tenants'],
    ['create', 'instanceclaims.berth.dev', 'tenants'],
    ['delete', 'instances.berth.dev', 'tenants'],
    ['create', 'pods', 'tenants'],
    ['delete', 'pods', 'tenants'],
    ['create', 'pods/exec', 'tenants'],
    ['get', 'pods/log', 'tenants'],
    ['create', 'events', 'tenants'],
    ['create', 'networkpolicies.networking.k8s.io', 'tenants'],
    ['update', 'networkpolicies.networking.k8s.io', 'tenants'],
    ['update', 'leases.coordination.k8s.io', 'berth-system'],
  ];
  for (const [verb, resource, ns] of allowed) {
    it(`can ${verb} ${resource}`, async () => {
      const r = await kubectl(['auth', 'can-i', verb, resource, '--as', AS, ...(ns ? ['-n', ns] : [])]);
      expect(r.stdout.trim(), r.stderr).toBe('yes');
    });
  }

  it('can get pods.metrics.k8s.io (asked as a SubjectAccessReview: kubectl resolves only served groups, and this cluster has no metrics-server)', async () => {
    const review = await testKubeConfig().makeApiClient(AuthorizationV1Api).createSubjectAccessReview({
      body: { spec: { user: AS, groups: ['system:serviceaccounts', 'system:serviceaccounts:berth-system', 'system:authenticated'], resourceAttributes: { group: 'metrics.k8s.io', resource: 'pods', verb: 'get', namespace: 'tenants' } } },
    });
    expect(review.status?.allowed, review.status?.reason).toBe(true);
  });

  for (const [verb, resource, ns] of [['update', 'leases.coordination.k8s.io', 'tenants'], ['delete', 'networkpolicies.networking.k8s.io', 'tenants'], ['get', 'secrets', 'tenants']] as const) {
    it(`cannot ${verb} ${resource} in ${ns}`, async () => {
      const r = await kubectl(['auth', 'can-i', verb, resource, '--as', AS, '-n', ns]);
      expect(r.stdout.trim()).toBe('no');
    });
  }
});
