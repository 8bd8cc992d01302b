// Literals for planner tests (and for callers' tests): a desired Instance
// built through the real schema, defaults and hash, and observed containers
// that match it unless told otherwise. Pure, like the planner.
import { configHash } from '../spec/hash.js';
import { effectiveTemplate } from '../spec/policy.js';
import { ContainerTemplateSchema, INSTANCE_POLICY_FIELDS, InstanceSpecSchema } from '../spec/schema.js';
import type { ObservedContainer } from '../runtime/types.js';
import { formatPlan } from './format.js';
import { planInstance } from './plan-instance.js';
import type { DesiredInstance, PlanInput, RestartMemory } from './types.js';

export const CONTROLLER_ID = 'berth-test';
/** 2026-01-01T12:00:00Z */
export const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
export const KEY = { kind: 'Instance', namespace: 'default', name: 'web' } as const;
export const CONTAINER_NAME = 'berth-default-web';

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;

/** A 64-hex container id starting with `prefix` (hex digits, up to 12 shown in plans). */
export const cid = (prefix: string): string => (prefix + '0'.repeat(64)).slice(0, 64);

/** A desired Instance from spec fields (image defaults to nginx:1.27), through the real schema and hash. */
export function desiredInstance(spec: Record<string, unknown> = {}, annotations: Record<string, string> = {}): DesiredInstance {
  const parsed = InstanceSpecSchema.parse({ image: 'nginx:1.27', ...spec });
  const templateFields: Record<string, unknown> = { ...parsed };
  for (const f of INSTANCE_POLICY_FIELDS) delete templateFields[f];
  const template = effectiveTemplate(ContainerTemplateSchema.parse(templateFields));
  return { key: KEY, spec: parsed, template, hash: configHash(template), annotations };
}

/** A running container of `desired` under the canonical name, managed by us, created an hour ago. */
export function containerOf(desired: DesiredInstance | undefined, overrides: Partial<ObservedContainer> = {}): ObservedContainer {
  const hash = desired?.hash ?? configHash(desiredInstance().template);
  return {
    id: cid('c0ffee000001'),
    name: CONTAINER_NAME,
    labels: {},
    managedBy: CONTROLLER_ID,
    kind: 'Instance',
    namespace: KEY.namespace,
    owner: KEY.name,
    configHash: hash.hash,
    hashVersion: hash.version,
    configFields: { ...hash.fields },
    createdAt: NOW - HOUR,
    startedAt: NOW - HOUR,
    state: 'running',
    hostPorts: [],
    ports: [],
    ...overrides,
  };
}

/** An exited container: finished `ago` ms before NOW with `exitCode`, after running `ranMs`. */
export function exitedOf(desired: DesiredInstance | undefined, exitCode: number, ago: number, ranMs = 5 * SECOND, overrides: Partial<ObservedContainer> = {}): ObservedContainer {
  const finishedAt = NOW - ago;
  return containerOf(desired, { state: 'exited', exitCode, finishedAt, startedAt: finishedAt - ranMs, createdAt: finishedAt - ranMs - SECOND, ...overrides });
}

export function planInput(desired: DesiredInstance | undefined, observed: ObservedContainer[], extra: Partial<Omit<PlanInput, 'memory'>> & { memory?: Partial<RestartMemory> } = {}): PlanInput {
  const { memory, ...rest } = extra;
  return {
    controllerId: CONTROLLER_ID,
    desired,
    key: KEY,
    observed,
    memory: { restartCount: 0, ...memory },
    now: NOW,
    containerName: CONTAINER_NAME,
    ...rest,
  };
}

/** The golden text of planning `desired` against `observed` at NOW. */
export const planText = (...args: Parameters<typeof planInput>): string => formatPlan(planInstance(planInput(...args)));
