import { describe, expect, it } from 'vitest';
import { isolationPolicyFor } from './network-policy.js';

const pod = (network?: string) => ({
  metadata: {
    name: 'berth-sandboxes-runners-a1',
    namespace: 'sandboxes',
    uid: 'pod-uid-1',
    labels: {
      'berth.dev/managed-by': 'berth',
      'berth.dev/kind': 'InstancePool',
      'berth.dev/namespace': 'sandboxes',
      'berth.dev/name': 'runners',
      'berth.dev/member': 'a1',
      'berth.dev/config-hash': 'v1-abc',
      team: 'x',
      ...(network ? { 'berth.dev/network': network } : {}),
    },
  },
});

describe('isolationPolicyFor', () => {
  it('denies all ingress and egress of exactly that Pod, owned by the Pod', () => {
    expect(isolationPolicyFor(pod('none'))).toEqual({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: {
        name: 'berth-sandboxes-runners-a1',
        namespace: 'sandboxes',
        labels: { 'berth.dev/managed-by': 'berth', 'berth.dev/network': 'none' },
        ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: 'berth-sandboxes-runners-a1', uid: 'pod-uid-1', controller: true, blockOwnerDeletion: true }],
      },
      spec: {
        podSelector: {
          matchLabels: {
            'berth.dev/managed-by': 'berth',
            'berth.dev/kind': 'InstancePool',
            'berth.dev/namespace': 'sandboxes',
            'berth.dev/name': 'runners',
            'berth.dev/member': 'a1',
            'berth.dev/config-hash': 'v1-abc',
            'berth.dev/network': 'none',
          },
        },
        policyTypes: ['Ingress', 'Egress'],
        ingress: [],
        egress: [],
      },
    });
  });

  it('makes none for the Pod network or a named network', () => {
    expect(isolationPolicyFor(pod())).toBeUndefined();
    expect(isolationPolicyFor(pod('backend'))).toBeUndefined();
  });
});
