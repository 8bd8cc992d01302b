// The one workload every system runs: a long-running busybox shell that exits
// at once on SIGTERM, with a grace period of 2 s and no health check (so berth's
// Ready means "running"). The raw engine gets the very create body berth would
// send (same image, command, env, limits, hardening, label set), built by
// berth's own code, so the comparison measures orchestration, not payload.
import type Dockerode from 'dockerode';
import { desiredInstance, ownerLabels } from '../src/reconcile/desired.js';
import { validateResource } from '../src/spec/load.js';
import { DEFAULT_POLICY } from '../src/spec/policy.js';
import type { Instance } from '../src/spec/schema.js';
import { createOptions } from '../src/runtime/docker/create-options.js';
import { RUN_LABEL } from './engine.js';

export const IMAGE = process.env['BENCH_IMAGE'] ?? 'berth-test/busybox:1';
export const COMMAND = ['sh', '-c', "trap 'exit 0' TERM; sleep 3600 & wait"];
export const GRACE_SECONDS = 2;
export const NAMESPACE = 'bench';
/** The env var whose value the replace scenario changes. */
export const CONFIG_VAR = 'BENCH_CONFIG';

export const instanceName = (i: number): string => `inst-${String(i).padStart(3, '0')}`;

export interface WorkloadOptions {
  runId: string;
  /** Value of CONFIG_VAR: changing it is the config change that forces a replace. */
  config: string;
  /** An exec probe (`true` through the runtime), for the optional probed variant. */
  execProbe?: boolean;
}

/** The Instance resource (plain object) for instance i. */
export function instanceObject(i: number, o: WorkloadOptions): Record<string, unknown> {
  return {
    apiVersion: 'berth.dev/v1alpha1',
    kind: 'Instance',
    metadata: { name: instanceName(i), namespace: NAMESPACE },
    spec: {
      image: IMAGE,
      command: COMMAND,
      env: [{ name: CONFIG_VAR, value: o.config }],
      stopGracePeriodSeconds: GRACE_SECONDS,
      // Extra container label: lets the bench find (and clean up) everything this run made.
      labels: { [RUN_LABEL]: o.runId },
      ...(o.execProbe ? { healthCheck: { exec: { command: ['true'] }, periodSeconds: 1, timeoutSeconds: 2, failureThreshold: 3 } } : {}),
    },
  };
}

/** A spec file's text (JSON is YAML). */
export const instanceFile = (i: number, o: WorkloadOptions): string => JSON.stringify(instanceObject(i, o), null, 2) + '\n';

/** The create body berth would send for instance i, owned by `managedBy`, under container name `name`. */
export function rawCreateBody(i: number, o: WorkloadOptions, managedBy: string, name: string): Dockerode.ContainerCreateOptions {
  const { resource, errors } = validateResource(instanceObject(i, o), '<bench>', { policy: DEFAULT_POLICY });
  if (!resource) throw new Error(`bench workload does not validate: ${errors.map((e) => e.format()).join('; ')}`);
  const desired = desiredInstance(resource as Instance, DEFAULT_POLICY);
  const labels = ownerLabels(managedBy, desired.key, desired.hash, Date.now());
  return createOptions({ name, template: desired.template, labels });
}
