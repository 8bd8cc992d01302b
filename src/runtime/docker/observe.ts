// The engine's list summaries and inspect documents as ObservedContainer
// snapshots, decoded from berth's labels. Pure: tested with literals.
import type Dockerode from 'dockerode';
import { KINDS, type Kind } from '../../spec/schema.js';
import { decodeFieldDigests } from '../../spec/hash.js';
import { LABEL, type ContainerState, type ListFilter, type ObservedContainer, type ObservedPort } from '../types.js';

/** The label filters of one listContainers call: managed-by always, then kind/namespace/name when given. */
export function listFilters(filter: ListFilter): { label: string[] } {
  const label = [`${LABEL.managedBy}=${filter.managedBy}`];
  if (filter.kind !== undefined) label.push(`${LABEL.kind}=${filter.kind}`);
  if (filter.namespace !== undefined) label.push(`${LABEL.namespace}=${filter.namespace}`);
  if (filter.name !== undefined) label.push(`${LABEL.name}=${filter.name}`);
  return { label };
}

const STATES: readonly ContainerState[] = ['created', 'running', 'paused', 'restarting', 'exited', 'dead', 'removing'];

/**
 * States whose exit details (exitCode, oomKilled, startedAt, finishedAt) only
 * an inspect can tell. A running container costs nothing more than the list;
 * a `created` one has no exit to report (its ExitCode 0 would read as success).
 */
export const needsInspect = (state: ContainerState): boolean => state === 'exited' || state === 'dead';

function containerState(s: string | undefined): ContainerState {
  const lower = (s ?? '').toLowerCase();
  return (STATES as readonly string[]).includes(lower) ? (lower as ContainerState) : 'dead';
}

const isKind = (s: string | undefined): s is Kind => s !== undefined && Object.hasOwn(KINDS, s);

/** The identity berth needs from the labels; undefined when they are not berth's (or incomplete). */
export type LabelIdentity = Pick<ObservedContainer, 'managedBy' | 'kind' | 'namespace' | 'owner' | 'member' | 'configHash' | 'hashVersion' | 'configFields'> & {
  createdAtLabel?: number;
};

export function decodeLabels(labels: Record<string, string>): LabelIdentity | undefined {
  const managedBy = labels[LABEL.managedBy];
  const kind = labels[LABEL.kind];
  const namespace = labels[LABEL.namespace];
  const owner = labels[LABEL.name];
  if (!managedBy || !isKind(kind) || !namespace || !owner) return undefined;
  const id: LabelIdentity = { managedBy, kind, namespace, owner };
  const member = labels[LABEL.member];
  if (member) id.member = member;
  const configHash = labels[LABEL.configHash];
  if (configHash) id.configHash = configHash;
  const hashVersion = labels[LABEL.hashVersion];
  if (hashVersion) id.hashVersion = hashVersion;
  const fields = decodeFieldDigests(labels[LABEL.configFields]);
  if (fields) id.configFields = fields;
  const created = labels[LABEL.createdAt];
  if (created !== undefined && /^\d+$/.test(created)) id.createdAtLabel = Number(created);
  return id;
}

function identityFields(id: LabelIdentity): Omit<LabelIdentity, 'createdAtLabel'> {
  const { createdAtLabel: _unused, ...rest } = id;
  return rest;
}

/** "Up 5 minutes (healthy)" -> healthy; the list summary carries the engine's health this way. */
export function healthFromStatus(status: string | undefined): ObservedContainer['engineHealth'] {
  if (!status) return undefined;
  if (status.includes('(healthy)')) return 'healthy';
  if (status.includes('(unhealthy)')) return 'unhealthy';
  if (status.includes('(health: starting)')) return 'starting';
  return undefined;
}

function health(s: string | undefined): ObservedContainer['engineHealth'] {
  return s === 'healthy' || s === 'unhealthy' || s === 'starting' ? s : undefined;
}

const protocolOf = (t: string | undefined): 'TCP' | 'UDP' => (t?.toLowerCase() === 'udp' ? 'UDP' : 'TCP');

function dedupePorts(ports: ObservedPort[]): ObservedPort[] {
  const seen = new Set<string>();
  return ports
    .filter((p) => {
      const key = `${p.containerPort}/${p.protocol}/${p.hostIP ?? ''}/${p.hostPort ?? ''}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .sort((a, b) => a.containerPort - b.containerPort || a.protocol.localeCompare(b.protocol) || (a.hostPort ?? 0) - (b.hostPort ?? 0));
}

const uniqueSorted = (ns: number[]): number[] => [...new Set(ns)].sort((a, b) => a - b);

/** Engine times are RFC 3339; "0001-01-01T00:00:00Z" means never. */
export function engineTime(s: string | undefined): number | undefined {
  if (!s || s.startsWith('0001-01-01')) return undefined;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : t;
}

function firstIp(networks: Record<string, { IPAddress?: string }> | undefined): string | undefined {
  for (const n of Object.values(networks ?? {})) if (n.IPAddress) return n.IPAddress;
  return undefined;
}

/**
 * One list summary as an ObservedContainer; undefined when the labels are not
 * a complete berth identity.
 *
 * hostPorts, from a list: the host ports the container holds now. The summary
 * cannot tell a fixed hostPort from an ephemeral one, so both are reported;
 * for "must the old container stop before the new one binds port P?" that is
 * the right answer either way. A stopped container holds none (list() then
 * adds the fixed ones from its inspect: those it would take when started).
 */
export function observedFromSummary(c: Dockerode.ContainerInfo): ObservedContainer | undefined {
  const labels = c.Labels ?? {};
  const id = decodeLabels(labels);
  if (!id) return undefined;
  const ports = dedupePorts(
    (c.Ports ?? []).map((p) => {
      const port: ObservedPort = { containerPort: p.PrivatePort, protocol: protocolOf(p.Type) };
      if (p.IP) port.hostIP = p.IP;
      if (p.PublicPort) port.hostPort = p.PublicPort;
      return port;
    }),
  );
  const out: ObservedContainer = {
    id: c.Id,
    name: (c.Names?.[0] ?? '').replace(/^\//, ''),
    labels: { ...labels },
    ...identityFields(id),
    createdAt: id.createdAtLabel ?? c.Created * 1000,
    state: containerState(c.State),
    hostPorts: uniqueSorted(ports.flatMap((p) => (p.hostPort ? [p.hostPort] : []))),
    ports,
  };
  const engineHealth = healthFromStatus(c.Status);
  if (engineHealth) out.engineHealth = engineHealth;
  const ip = firstIp(c.NetworkSettings?.Networks);
  if (ip) out.ip = ip;
  return out;
}

/**
 * An inspect document as an ObservedContainer. hostPorts: the fixed host ports
 * of its PortBindings (held now or when started again) plus any bound now.
 */
export function observedFromInspect(info: Dockerode.ContainerInspectInfo): ObservedContainer | undefined {
  const labels = info.Config?.Labels ?? {};
  const id = decodeLabels(labels);
  if (!id) return undefined;
  const ports: ObservedPort[] = [];
  const bound = (info.NetworkSettings?.Ports ?? {}) as Record<string, Array<{ HostIp?: string; HostPort?: string }> | null>;
  const exposed = { ...(info.Config?.ExposedPorts ?? {}), ...bound };
  for (const key of Object.keys(exposed)) {
    const [portText, proto] = key.split('/');
    const containerPort = Number(portText);
    if (!Number.isInteger(containerPort)) continue;
    const bindings = bound[key];
    if (!bindings || bindings.length === 0) {
      ports.push({ containerPort, protocol: protocolOf(proto) });
      continue;
    }
    for (const b of bindings) {
      const port: ObservedPort = { containerPort, protocol: protocolOf(proto) };
      if (b.HostIp) port.hostIP = b.HostIp;
      if (b.HostPort) port.hostPort = Number(b.HostPort);
      ports.push(port);
    }
  }
  const configured = (info.HostConfig?.PortBindings ?? {}) as Record<string, Array<{ HostPort?: string }> | null>;
  const fixed = Object.values(configured).flatMap((bs) => (bs ?? []).flatMap((b) => (b.HostPort && /^\d+$/.test(b.HostPort) && b.HostPort !== '0' ? [Number(b.HostPort)] : [])));
  const state = info.State;
  const out: ObservedContainer = {
    id: info.Id,
    name: (info.Name ?? '').replace(/^\//, ''),
    labels: { ...labels },
    ...identityFields(id),
    createdAt: id.createdAtLabel ?? engineTime(info.Created) ?? 0,
    state: containerState(state?.Status),
    hostPorts: uniqueSorted([...fixed, ...ports.flatMap((p) => (p.hostPort ? [p.hostPort] : []))]),
    ports: dedupePorts(ports),
  };
  const engineHealth = health(state?.Health?.Status);
  if (engineHealth) out.engineHealth = engineHealth;
  const startedAt = engineTime(state?.StartedAt);
  if (startedAt !== undefined) out.startedAt = startedAt;
  if (out.state === 'exited' || out.state === 'dead') {
    out.exitCode = state?.ExitCode ?? 0;
    out.oomKilled = state?.OOMKilled ?? false;
    const finishedAt = engineTime(state?.FinishedAt);
    if (finishedAt !== undefined) out.finishedAt = finishedAt;
  }
  const settings = info.NetworkSettings as { IPAddress?: string; Networks?: Record<string, { IPAddress?: string }> } | undefined;
  const ip = settings?.IPAddress || firstIp(settings?.Networks);
  if (ip) out.ip = ip;
  return out;
}

/** Exit details of an inspect laid over a list snapshot (the list's view of ports and health is kept). */
export function withExitDetails(listed: ObservedContainer, inspected: ObservedContainer): ObservedContainer {
  const out: ObservedContainer = { ...listed, state: inspected.state };
  for (const k of ['exitCode', 'oomKilled', 'startedAt', 'finishedAt'] as const) {
    if (inspected[k] !== undefined) (out as unknown as Record<string, unknown>)[k] = inspected[k];
  }
  out.hostPorts = uniqueSorted([...listed.hostPorts, ...inspected.hostPorts]);
  return out;
}
