// Pods as ObservedContainer snapshots, decoded from berth's labels (and the
// two berth labels kept as annotations). Pure: tested with literals. Pods come
// from the typed API (times are Date objects) and from watch events (times are
// RFC 3339 strings); both are read here.
//
// The container id is `<namespace>/<pod name>`: Pods are addressed by name,
// so inspect/exec/stop/remove resolve it in one call, and it stays the same
// when start() re-creates an exited Pod under its name (the controller keeps
// holding a valid id). A uid would change with every re-creation.
//
// State, from the phase and the `main` container's state:
//   deletionTimestamp set              -> removing
//   Pending (scheduling, pulling)      -> created (start() waits for it to run)
//   Running, container running         -> running
//   Running, container terminated      -> exited (the phase follows shortly)
//   Running, container waiting         -> restarting
//   Succeeded / Failed, with an exit   -> exited, exitCode from the container
//   Failed, container still running    -> running (being stopped: the kubelet
//                                         sets the phase before it kills)
//   Failed without a container exit    -> dead (evicted, deadline before start, ...)
//   Unknown (node lost)                -> running, engineHealth unhealthy
// engineHealth: from the Ready condition while running (healthy, else
// starting); unhealthy while Pending with an image or config error.
import type { V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import { decodeLabels } from '../docker/observe.js';
import { LABEL, type ContainerState, type ListFilter, type ObservedContainer, type ObservedPort } from '../types.js';
import { ANNOTATED_LABELS, ANNOTATION_CONTAINER_NAME, CONTAINER_NAME, RESERVED_PREFIX } from './pod-spec.js';

/** The ObservedContainer id of a Pod. */
export const podId = (namespace: string, name: string): string => `${namespace}/${name}`;

/** `<namespace>/<name>` back to its parts; undefined for anything else (no Pod has that id). */
export function parsePodId(id: string): { namespace: string; name: string } | undefined {
  const parts = id.split('/');
  if (parts.length !== 2 || !parts[0] || !parts[1]) return undefined;
  return { namespace: parts[0], name: parts[1] };
}

/** The label selector of one list call: managed-by always, then kind/namespace/name when given. */
export function labelSelector(filter: ListFilter): string {
  const parts = [`${LABEL.managedBy}=${filter.managedBy}`];
  if (filter.kind !== undefined) parts.push(`${LABEL.kind}=${filter.kind}`);
  if (filter.namespace !== undefined) parts.push(`${LABEL.namespace}=${filter.namespace}`);
  if (filter.name !== undefined) parts.push(`${LABEL.name}=${filter.name}`);
  return parts.join(',');
}

/** Epoch ms of a Kubernetes time (a Date from the typed API, a string from a watch). */
export function timeMs(v: unknown): number | undefined {
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? undefined : v.getTime();
  if (typeof v !== 'string' || !v) return undefined;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : t;
}

/**
 * berth's labels as the Docker runtime reports them: the Pod's labels, plus
 * the berth.dev/ keys stored as annotations (config-fields, created-at, and
 * any berth label whose value is not a valid label value).
 */
export function berthLabels(pod: V1Pod): Record<string, string> {
  const out: Record<string, string> = { ...(pod.metadata?.labels ?? {}) };
  for (const [k, v] of Object.entries(pod.metadata?.annotations ?? {})) {
    if (k === ANNOTATION_CONTAINER_NAME || !k.startsWith(RESERVED_PREFIX)) continue;
    if (ANNOTATED_LABELS.includes(k) || (Object.values(LABEL) as string[]).includes(k)) out[k] ??= v;
  }
  return out;
}

export function mainStatus(pod: V1Pod): V1ContainerStatus | undefined {
  const statuses = pod.status?.containerStatuses ?? [];
  return statuses.find((s) => s.name === CONTAINER_NAME) ?? statuses[0];
}

export const isTerminalPhase = (phase: string | undefined): boolean => phase === 'Succeeded' || phase === 'Failed';

/**
 * The Pod's one run is over and a start must make a new Pod. The kubelet
 * reports the container's exit before it sets the terminal phase (it waits
 * for its Pod worker to finish): exited under phase Running is as finished
 * as Failed, with restartPolicy Never.
 */
export const runFinished = (pod: V1Pod): boolean => !pod.metadata?.deletionTimestamp && (isTerminalPhase(pod.status?.phase) || podState(pod) === 'exited');

export function podState(pod: V1Pod): ContainerState {
  if (pod.metadata?.deletionTimestamp) return 'removing';
  const phase = pod.status?.phase;
  const state = mainStatus(pod)?.state;
  switch (phase) {
    case 'Succeeded':
    case 'Failed':
      // The kubelet marks a Pod Failed (DeadlineExceeded) before its container is killed.
      if (state?.running) return 'running';
      if (phase === 'Succeeded' || state?.terminated) return 'exited';
      return 'dead';
    case 'Running':
      if (state?.terminated) return 'exited';
      if (state?.waiting) return 'restarting';
      return 'running';
    case 'Unknown':
      return 'running';
    default:
      return 'created';
  }
}

/** Waiting reasons of a Pending container that will not go away by waiting (the kubelet retries pulls, but berth should say why). */
export const IMAGE_PULL_REASONS = new Set(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'ErrImageNeverPull', 'RegistryUnavailable', 'SignatureValidationFailed']);
const CONFIG_ERROR_REASONS = new Set(['CreateContainerConfigError', 'CreateContainerError', 'RunContainerError', 'PreCreateHookError', 'PreStartHookError']);

/** Why the main container cannot start, when its waiting reason says so: {reason, message}. */
export function startFailure(pod: V1Pod): { reason: string; message: string; imagePull: boolean } | undefined {
  const waiting = mainStatus(pod)?.state?.waiting;
  const reason = waiting?.reason;
  if (!reason || !(IMAGE_PULL_REASONS.has(reason) || CONFIG_ERROR_REASONS.has(reason))) return undefined;
  return { reason, message: waiting?.message ?? reason, imagePull: IMAGE_PULL_REASONS.has(reason) };
}

function readyCondition(pod: V1Pod): boolean {
  return (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

function engineHealth(pod: V1Pod, state: ContainerState): ObservedContainer['engineHealth'] {
  if (pod.status?.phase === 'Unknown') return 'unhealthy';
  if (state === 'running') return readyCondition(pod) ? 'healthy' : 'starting';
  if (state === 'created' && startFailure(pod)) return 'unhealthy';
  return undefined;
}

function ports(pod: V1Pod): ObservedPort[] {
  const main = pod.spec?.containers.find((c) => c.name === CONTAINER_NAME) ?? pod.spec?.containers[0];
  return (main?.ports ?? [])
    .map((p) => {
      const port: ObservedPort = { containerPort: p.containerPort, protocol: p.protocol === 'UDP' ? 'UDP' : 'TCP' };
      if (p.hostPort) {
        port.hostPort = p.hostPort;
        if (p.hostIP) port.hostIP = p.hostIP;
      }
      return port;
    })
    .sort((a, b) => a.containerPort - b.containerPort || a.protocol.localeCompare(b.protocol));
}

/** One Pod as an ObservedContainer; undefined when its labels are not a complete berth identity. */
export function observedFromPod(pod: V1Pod): ObservedContainer | undefined {
  const meta = pod.metadata;
  if (!meta?.name || !meta.namespace) return undefined;
  const labels = berthLabels(pod);
  const id = decodeLabels(labels);
  if (!id) return undefined;
  const { createdAtLabel, ...identity } = id;
  const state = podState(pod);
  const observedPorts = ports(pod);
  const out: ObservedContainer = {
    id: podId(meta.namespace, meta.name),
    name: meta.annotations?.[ANNOTATION_CONTAINER_NAME] || meta.name,
    labels,
    ...identity,
    createdAt: createdAtLabel ?? timeMs(meta.creationTimestamp) ?? 0,
    state,
    hostPorts: [...new Set(observedPorts.flatMap((p) => (p.hostPort ? [p.hostPort] : [])))].sort((a, b) => a - b),
    ports: observedPorts,
  };
  const health = engineHealth(pod, state);
  if (health) out.engineHealth = health;
  const cs = mainStatus(pod)?.state;
  const startedAt = timeMs(cs?.running?.startedAt) ?? timeMs(cs?.terminated?.startedAt);
  if (startedAt !== undefined) out.startedAt = startedAt;
  if (state === 'exited' || state === 'dead') {
    const terminated = cs?.terminated;
    if (terminated) {
      out.exitCode = terminated.exitCode;
      out.oomKilled = terminated.reason === 'OOMKilled';
      const finishedAt = timeMs(terminated.finishedAt);
      if (finishedAt !== undefined) out.finishedAt = finishedAt;
    } else if (pod.status?.phase === 'Succeeded') {
      out.exitCode = 0;
      out.oomKilled = false;
    }
  }
  const ip = pod.status?.podIP;
  if (ip) out.ip = ip;
  return out;
}
