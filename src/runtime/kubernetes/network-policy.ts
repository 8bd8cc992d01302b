// The NetworkPolicy that isolates a Pod of a template with network `none`:
// deny all ingress and egress (both policy types, no rules). Pure: built from
// the Pod as the apiserver returned it (its uid owns the policy, so the
// garbage collector deletes the policy with the Pod).
import type { V1NetworkPolicy, V1Pod } from '@kubernetes/client-node';
import { LABEL } from '../types.js';
import { LABEL_NETWORK } from './pod-spec.js';

/** The labels that select exactly this Pod's generation of its owner's Pods (network none only). */
const SELECTOR_LABELS = [LABEL.managedBy, LABEL.kind, LABEL.namespace, LABEL.name, LABEL.member, LABEL.configHash, LABEL_NETWORK];

export function isolationPolicyFor(pod: V1Pod): V1NetworkPolicy | undefined {
  const labels = pod.metadata?.labels ?? {};
  if (labels[LABEL_NETWORK] !== 'none' || !pod.metadata?.name || !pod.metadata.namespace || !pod.metadata.uid) return undefined;
  const matchLabels: Record<string, string> = {};
  for (const k of SELECTOR_LABELS) if (labels[k] !== undefined) matchLabels[k] = labels[k];
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: {
      name: pod.metadata.name,
      namespace: pod.metadata.namespace,
      labels: { [LABEL.managedBy]: labels[LABEL.managedBy] ?? '', [LABEL_NETWORK]: 'none' },
      ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: pod.metadata.name, uid: pod.metadata.uid, controller: true, blockOwnerDeletion: true }],
    },
    spec: { podSelector: { matchLabels }, policyTypes: ['Ingress', 'Egress'], ingress: [], egress: [] },
  };
}
