// Spec files as the client commands read them (apply, delete -f).
import { loadSpecPaths, type LoadResult } from '../spec/load.js';
import { ALLOW_ALL_ISOLATION, DEFAULT_POLICY, type ControllerPolicy } from '../spec/policy.js';
import type { Resource } from '../spec/schema.js';
import type { Io } from './io.js';

const ALL_CAPABILITIES = [
  'AUDIT_CONTROL', 'AUDIT_READ', 'AUDIT_WRITE', 'BLOCK_SUSPEND', 'BPF', 'CHECKPOINT_RESTORE', 'CHOWN', 'DAC_OVERRIDE',
  'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'IPC_LOCK', 'IPC_OWNER', 'KILL', 'LEASE', 'LINUX_IMMUTABLE', 'MAC_ADMIN',
  'MAC_OVERRIDE', 'MKNOD', 'NET_ADMIN', 'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_RAW', 'PERFMON', 'SETFCAP', 'SETGID',
  'SETPCAP', 'SETUID', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_CHROOT', 'SYS_MODULE', 'SYS_NICE', 'SYS_PACCT', 'SYS_PTRACE',
  'SYS_RAWIO', 'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'SYSLOG', 'WAKE_ALARM', 'ALL',
];

/**
 * What the client checks before sending: the schema, not the controller's
 * allowances. Those belong to the controller (a privileged spec is fine for a
 * controller started with --allow-privileged), and it answers with the field.
 */
export const CLIENT_POLICY: ControllerPolicy = {
  ...DEFAULT_POLICY,
  ...ALLOW_ALL_ISOLATION,
  allowedCapAdd: ALL_CAPABILITIES,
};

export function loadForClient(paths: string[], io: Io, policy: ControllerPolicy = CLIENT_POLICY): Promise<LoadResult> {
  return loadSpecPaths(paths, { policy, readStdin: () => io.readStdin() });
}

/** What apply sends: the spec and the user's metadata, not fields the server owns (uid, resourceVersion, ...). */
export function applyBody(r: Resource): object {
  const { name, namespace, labels, annotations } = r.metadata;
  return {
    apiVersion: r.apiVersion,
    kind: r.kind,
    metadata: { name, namespace, ...(labels ? { labels } : {}), ...(annotations ? { annotations } : {}) },
    spec: r.spec,
  };
}
