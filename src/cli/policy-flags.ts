// The isolation allowances as command-line flags, shared by `berth controller`
// (what it enforces) and `berth validate` (checking files against the
// allowances a controller will be started with). Every one is off by default.
import type { Command } from 'commander';
import { DEFAULT_POLICY, type ControllerPolicy } from '../spec/policy.js';

type Allowance = Exclude<{ [K in keyof ControllerPolicy]: ControllerPolicy[K] extends boolean ? K : never }[keyof ControllerPolicy], undefined>;

export const POLICY_FLAGS: ReadonlyArray<{ flag: string; key: Allowance; help: string }> = [
  { flag: '--allow-privileged', key: 'allowPrivileged', help: 'allow privileged containers' },
  { flag: '--allow-host-network', key: 'allowHostNetwork', help: 'allow network: host' },
  { flag: '--allow-container-network', key: 'allowContainerNetwork', help: "allow network: container:<name> (joining another container's network namespace)" },
  { flag: '--allow-bind-mounts', key: 'allowBindMounts', help: 'allow bind mounts' },
  { flag: '--allow-foreign-volumes', key: 'allowForeignVolumes', help: 'allow mounting named volumes this controller did not create for the resource' },
  { flag: '--allow-cap-drop-without-all', key: 'allowCapDropWithoutAll', help: 'allow security.capDrop without ALL' },
  { flag: '--allow-privilege-escalation', key: 'allowPrivilegeEscalation', help: 'allow security.noNewPrivileges: false' },
  { flag: '--allow-root-user', key: 'allowRootUser', help: 'allow user: uid 0 ("0", "root", "0:0", ...)' },
  { flag: '--allow-public-ports', key: 'allowPublicPorts', help: 'allow ports with a hostIP other than loopback' },
];

export function addPolicyOptions(cmd: Command): Command {
  for (const f of POLICY_FLAGS) cmd.option(f.flag, f.help);
  return cmd;
}

/** DEFAULT_POLICY with the allowances the flags turned on. */
export function policyFromFlags(flags: Record<string, unknown>, base: ControllerPolicy = DEFAULT_POLICY): ControllerPolicy {
  const policy: ControllerPolicy = { ...base };
  for (const f of POLICY_FLAGS) if (flags[f.key] === true) policy[f.key] = true;
  return policy;
}
