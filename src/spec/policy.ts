// Controller-wide defaults and allowances. A template is "effective" once these
// are applied: no container runs unbounded, and what the controller does not
// allow is refused with a located error, never silently dropped.
import { parseCpus, parseMemory } from './quantity.js';
import type { ContainerTemplate } from './schema.js';

export interface ControllerPolicy {
  defaults: { cpus: string; memory: string; pids: number };
  allowPrivileged: boolean;
  allowHostNetwork: boolean;
  allowBindMounts: boolean;
  /** Capabilities a template may add back after dropping ALL. */
  allowedCapAdd: string[];
}

export const DEFAULT_POLICY: ControllerPolicy = {
  defaults: { cpus: '1', memory: '1Gi', pids: 512 },
  allowPrivileged: false,
  allowHostNetwork: false,
  allowBindMounts: false,
  allowedCapAdd: ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'SETGID', 'SETUID', 'NET_BIND_SERVICE', 'KILL'],
};

/** The template with every default applied and quantities in base units. */
export interface EffectiveTemplate extends Omit<ContainerTemplate, 'resources'> {
  resources: { nanoCpus: number; memoryBytes: number; pids: number };
}

export function effectiveTemplate(t: ContainerTemplate, policy: ControllerPolicy = DEFAULT_POLICY): EffectiveTemplate {
  const cpus = parseCpus(t.resources.cpus ?? policy.defaults.cpus);
  const memory = parseMemory(t.resources.memory ?? policy.defaults.memory);
  if (cpus === undefined || memory === undefined) throw new Error('effectiveTemplate: template was not validated');
  return { ...t, resources: { nanoCpus: cpus, memoryBytes: memory, pids: t.resources.pids ?? policy.defaults.pids } };
}

export interface PolicyViolation {
  /** Path inside the template, e.g. ['security', 'privileged']. */
  path: (string | number)[];
  message: string;
}

/** What a template asks for that this controller does not allow. */
export function policyViolations(t: ContainerTemplate, policy: ControllerPolicy = DEFAULT_POLICY): PolicyViolation[] {
  const out: PolicyViolation[] = [];
  if (t.security.privileged && !policy.allowPrivileged) {
    out.push({ path: ['security', 'privileged'], message: 'privileged containers are refused by this controller (start it with --allow-privileged)' });
  }
  if (t.network === 'host' && !policy.allowHostNetwork) {
    out.push({ path: ['network'], message: 'host network is refused by this controller (start it with --allow-host-network)' });
  }
  t.mounts.forEach((m, i) => {
    if (m.type === 'bind' && !policy.allowBindMounts) {
      out.push({ path: ['mounts', i, 'type'], message: 'bind mounts are refused by this controller (start it with --allow-bind-mounts)' });
    }
  });
  t.security.capAdd.forEach((cap, i) => {
    const name = cap.toUpperCase().replace(/^CAP_/, '');
    if (!policy.allowedCapAdd.includes(name)) {
      out.push({ path: ['security', 'capAdd', i], message: `capability ${cap} is not in the allow-list (${policy.allowedCapAdd.join(', ')})` });
    }
  });
  return out;
}
