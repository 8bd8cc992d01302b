// The bridge from a validated resource to what the planner wants: the effective
// template, its config hash, and the labels that record ownership on a container.
import { LABEL } from '../runtime/types.js';
import { configHash, encodeFieldDigests, type ConfigHash } from '../spec/hash.js';
import { DEFAULT_POLICY, effectiveTemplate, type ControllerPolicy } from '../spec/policy.js';
import { templateOfInstance, type Instance, type InstancePool, type ResourceKey } from '../spec/schema.js';
import type { DesiredPool } from './pool/types.js';
import type { DesiredInstance } from './types.js';

/** What the planner needs for one Instance. Metadata labels and annotations stay out of the hash. */
export function desiredInstance(resource: Instance, policy: ControllerPolicy = DEFAULT_POLICY): DesiredInstance {
  const template = effectiveTemplate(templateOfInstance(resource.spec), policy);
  return {
    key: { kind: 'Instance', namespace: resource.metadata.namespace, name: resource.metadata.name },
    spec: resource.spec,
    template,
    hash: configHash(template),
    annotations: { ...resource.metadata.annotations },
  };
}

/**
 * The runtime name of an owner's container: `berth-<namespace>-<name>`, and
 * `berth-<namespace>-<name>-<member>` for a pool member. Deterministic, but a
 * name is not an identity (namespace "a-b"/name "c" and namespace "a"/name "b-c"
 * map to the same text): ownership is always decided by labels.
 */
export function containerNameFor(key: ResourceKey, member?: string): string {
  const base = `berth-${key.namespace}-${key.name}`;
  return member === undefined ? base : `${base}-${member}`;
}

/**
 * The labels berth puts on every container it creates (DESIGN.md, "Labels on
 * every managed container"). `createdAt` is epoch ms, passed in so this stays pure.
 */
export function ownerLabels(controllerId: string, key: ResourceKey, hash: ConfigHash, createdAt: number, member?: string): Record<string, string> {
  return {
    [LABEL.managedBy]: controllerId,
    [LABEL.kind]: key.kind,
    [LABEL.namespace]: key.namespace,
    [LABEL.name]: key.name,
    ...(member === undefined ? {} : { [LABEL.member]: member }),
    [LABEL.configHash]: hash.hash,
    [LABEL.hashVersion]: hash.version,
    [LABEL.createdAt]: String(createdAt),
    [LABEL.configFields]: encodeFieldDigests(hash.fields),
  };
}

/**
 * What the pool planner needs for one InstancePool: its template with the
 * controller's defaults, and that template's hash. Pool sizes, timeouts,
 * recycling and the update strategy stay out of the hash: changing them never
 * recreates a member.
 */
export function desiredPool(resource: InstancePool, policy: ControllerPolicy = DEFAULT_POLICY): DesiredPool {
  const template = effectiveTemplate(resource.spec.template, policy);
  return {
    key: { kind: 'InstancePool', namespace: resource.metadata.namespace, name: resource.metadata.name },
    spec: resource.spec,
    template,
    hash: configHash(template),
    annotations: { ...resource.metadata.annotations },
  };
}
