// The flags that decide what a spec becomes on the engine: the policy
// (isolation opt-ins, template defaults — both part of the config hash) and
// the runtime. `berth controller` and `berth diff` share them, so a diff
// plans exactly what the controller started with the same flags would do.
import type { Command } from 'commander';
import { DEFAULT_POLICY, type ControllerPolicy } from '../spec/policy.js';
import { DockerRuntime } from '../runtime/docker/docker-runtime.js';
import type { KubernetesRuntimeOptions } from '../runtime/kubernetes/kubernetes-runtime.js';
import type { Runtime } from '../runtime/types.js';
import { addPolicyOptions, policyFromFlags } from './policy-flags.js';

export interface RuntimeFlags extends Record<string, unknown> {
  runtime: string;
  kubeconfig?: string;
  defaultCpus: string;
  defaultMemory: string;
  defaultPids: string;
}

export function addRuntimeOptions(cmd: Command): Command {
  cmd
    .option('--runtime <runtime>', 'where containers run: docker or kubernetes (Pods)', 'docker')
    .option('--kubeconfig <file>', 'kubeconfig for --source/--runtime kubernetes and --leader-elect (default: $KUBECONFIG, ~/.kube/config, then the in-cluster service account)')
    .option('--default-cpus <cpus>', 'CPU limit of templates that set none', DEFAULT_POLICY.defaults.cpus)
    .option('--default-memory <quantity>', 'memory limit of templates that set none', DEFAULT_POLICY.defaults.memory)
    .option('--default-pids <n>', 'pids limit of templates that set none', String(DEFAULT_POLICY.defaults.pids));
  return addPolicyOptions(cmd);
}

export function policyOf(flags: RuntimeFlags): ControllerPolicy {
  return { ...policyFromFlags(flags), defaults: { cpus: flags.defaultCpus, memory: flags.defaultMemory, pids: Number(flags.defaultPids) } };
}

export function runtimeKind(flags: RuntimeFlags): 'docker' | 'kubernetes' {
  const runtime = flags.runtime;
  if (runtime !== 'docker' && runtime !== 'kubernetes') throw new Error(`--runtime ${runtime}: expected docker or kubernetes`);
  return runtime;
}

/** The runtime the flags name. Kubernetes modules load only when asked for (they cost ~70 MiB of RSS). */
export async function runtimeOf(
  flags: RuntimeFlags,
  policy: ControllerPolicy,
  kube?: { kubeConfig: import('@kubernetes/client-node').KubeConfig; namespace?: string; ownerReference?: KubernetesRuntimeOptions['ownerReference'] },
): Promise<Runtime> {
  if (runtimeKind(flags) === 'docker') return new DockerRuntime({ allowForeignVolumes: policy.allowForeignVolumes });
  const kubeConfig = kube?.kubeConfig ?? (await import('../sources/kubernetes/kube-api.js')).loadKubeConfig(flags.kubeconfig);
  const { KubernetesRuntime } = await import('../runtime/kubernetes/kubernetes-runtime.js');
  return new KubernetesRuntime({
    kubeConfig,
    ...(kube?.namespace !== undefined ? { namespace: kube.namespace } : {}),
    ...(kube?.ownerReference ? { ownerReference: kube.ownerReference } : {}),
    allowForeignVolumes: policy.allowForeignVolumes,
  });
}
