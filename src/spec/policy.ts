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
  /** `network: container:<name>` (joining another container's network namespace). */
  allowContainerNetwork: boolean;
  /** Named volumes that exist and were not created by this controller for this resource (checked by the runtime at create). */
  allowForeignVolumes: boolean;
  /** `security.capDrop` without ALL (the engine's default capabilities come back). */
  allowCapDropWithoutAll: boolean;
  /** `security.noNewPrivileges: false` (setuid binaries may gain privileges). */
  allowPrivilegeEscalation: boolean;
  /** `user` naming uid 0 ("0", "root", "0:0", ...). */
  allowRootUser: boolean;
  /** Ports published on an address other than loopback. */
  allowPublicPorts: boolean;
  /** Capabilities a template may add back after dropping ALL. */
  allowedCapAdd: string[];
}

export const DEFAULT_POLICY: ControllerPolicy = {
  defaults: { cpus: '1', memory: '1Gi', pids: 512 },
  allowPrivileged: false,
  allowHostNetwork: false,
  allowBindMounts: false,
  allowContainerNetwork: false,
  allowForeignVolumes: false,
  allowCapDropWithoutAll: false,
  allowPrivilegeEscalation: false,
  allowRootUser: false,
  allowPublicPorts: false,
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
  if (t.network.toLowerCase().startsWith('container:') && !policy.allowContainerNetwork) {
    out.push({ path: ['network'], message: "joining another container's network namespace is refused by this controller (start it with --allow-container-network)" });
  }
  t.mounts.forEach((m, i) => {
    if (m.type === 'bind' && !policy.allowBindMounts) {
      out.push({ path: ['mounts', i, 'type'], message: 'bind mounts are refused by this controller (start it with --allow-bind-mounts)' });
    }
  });
  if (!t.security.capDrop.some((c) => capabilityName(c) === 'ALL') && !policy.allowCapDropWithoutAll) {
    out.push({
      path: ['security', 'capDrop'],
      message: "must include ALL: without it the engine's default capabilities (NET_RAW, MKNOD, SYS_CHROOT, ...) come back around the capAdd allow-list (start the controller with --allow-cap-drop-without-all)",
    });
  }
  if (!t.security.noNewPrivileges && !policy.allowPrivilegeEscalation) {
    out.push({ path: ['security', 'noNewPrivileges'], message: 'false is refused by this controller: processes could gain privileges through setuid binaries (start it with --allow-privilege-escalation)' });
  }
  if (t.user !== undefined && isRootUser(t.user) && !policy.allowRootUser) {
    out.push({ path: ['user'], message: `${JSON.stringify(t.user)} runs as uid 0, which this controller refuses (use a non-root uid such as "65534", or start it with --allow-root-user)` });
  }
  t.ports.forEach((p, i) => {
    if (!isLoopbackAddress(p.hostIP) && !policy.allowPublicPorts) {
      out.push({ path: ['ports', i, 'hostIP'], message: `${p.hostIP} publishes the port beyond this machine, which this controller refuses (use 127.0.0.1, or start it with --allow-public-ports)` });
    }
  });
  t.security.capAdd.forEach((cap, i) => {
    const name = capabilityName(cap);
    if (!policy.allowedCapAdd.includes(name)) {
      out.push({ path: ['security', 'capAdd', i], message: `capability ${cap} is not in the allow-list (${policy.allowedCapAdd.join(', ')})` });
    }
  });
  return out;
}

const capabilityName = (cap: string): string => cap.trim().toUpperCase().replace(/^CAP_/, '');

/** "0", "root", "0:0", "root:1000", "00": the user part names uid 0 (the group does not matter). */
export function isRootUser(user: string): boolean {
  const name = user.trim().split(':')[0]!.trim();
  return name === 'root' || /^0+$/.test(name);
}

/** 127.0.0.0/8 and ::1 (also as IPv4-mapped); the schema has already checked it is an IP. */
export function isLoopbackAddress(ip: string): boolean {
  const h = ip.trim().toLowerCase();
  if (/^127\.\d+\.\d+\.\d+$/.test(h)) return true;
  if (/^::ffff:127\./.test(h)) return true;
  return h === '::1' || /^(0{1,4}:){7}0{0,3}1$/.test(h) || h === '0:0:0:0:0:0:0:1';
}

/** Every isolation allowance on: what a client checks before sending (the controller decides). */
export const ALLOW_ALL_ISOLATION = {
  allowPrivileged: true,
  allowHostNetwork: true,
  allowBindMounts: true,
  allowContainerNetwork: true,
  allowForeignVolumes: true,
  allowCapDropWithoutAll: true,
  allowPrivilegeEscalation: true,
  allowRootUser: true,
  allowPublicPorts: true,
} as const satisfies Partial<ControllerPolicy>;
