// Pure mapping from a CreateRequest (effective template + berth's labels) to
// the Pod berth creates, and back from a stored Pod to the body that creates
// it again (start() of an exited Pod). No defaults are invented here: they
// were applied by effectiveTemplate(); this only translates.
//
// Decisions (see also kubernetes-runtime.ts):
// - One container, `main`. restartPolicy Never: berth restarts by itself
//   (restartPolicy, backoff, CrashLoopBackOff), as it does on Docker.
// - Limits are the template's cpus and memory (cpu in millicores, memory in
//   bytes). Requests are small (at most POD_REQUEST: 100m, 64Mi; never above
//   the limit), Burstable QoS: the scheduler reserves requests, and with
//   requests = limits the controller default of 1 CPU let a 2-CPU node hold
//   one warm member, leaving the rest of a pool unschedulable.
//   `pids` has no per-Pod field (the kubelet's --pod-max-pids is node-wide),
//   so it is not enforced on Kubernetes; ephemeral storage is not limited.
// - Hardened like the Docker runtime: capabilities drop/add, no privilege
//   escalation (unless privileged or CAP_SYS_ADMIN, which the API refuses
//   together with it), seccomp RuntimeDefault (Docker's default profile;
//   not for privileged containers), no service-account token, no service
//   links. Without `user` the container runs as DEFAULT_POD_UID (65534,
//   nobody) with runAsNonRoot, so the defaults pass the "restricted" Pod
//   Security Standard (namespaces enforcing it admit berth's Pods); a
//   template that wants the image's root user says `user: "0"`.
// - `user` must be numeric ("1000" or "1000:1000") on Kubernetes: the API has
//   no user names; a name is refused (Invalid) rather than silently running
//   as the image's user.
// - mounts: tmpfs -> emptyDir {medium: Memory}; volume -> the
//   PersistentVolumeClaim named `source` in the Pod's namespace (berth does not
//   create it; a named Docker volume outlives its containers and is shared by
//   name, and so does a PVC; an emptyDir would silently lose that); bind ->
//   hostPath (only reached when the controller allows bind mounts).
// - network: host -> hostNetwork; bridge -> the Pod network; `none` or a named
//   network cannot be expressed per Pod: the Pod joins the Pod network and
//   carries the label berth.dev/network=<value>. For `none` the runtime
//   creates a deny-all NetworkPolicy owned by the Pod (network-policy.ts),
//   enforced where the network plugin implements NetworkPolicy.
// - Kubernetes expands $(VAR) in command, args and env values, and turns $$
//   into $. Docker does not, so every $ is written as $$: the process sees
//   exactly the template's text.
// - Labels: berth.dev/config-fields and berth.dev/created-at are not label
//   values Kubernetes accepts (and no selector needs them): they are
//   annotations. The other berth labels stay labels (the list selector needs
//   managed-by, kind, namespace, name). A template label whose key or value
//   Kubernetes refuses is refused here, naming it.
import { createHash } from 'node:crypto';
import type { V1Container, V1OwnerReference, V1Pod, V1PodSpec, V1SecurityContext, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import { RuntimeError } from '../errors.js';
import { LABEL, type CreateRequest } from '../types.js';
import type { EffectiveTemplate } from '../../spec/policy.js';

export const CONTAINER_NAME = 'main';
/** The uid (and gid) of a Pod whose template names no user: nobody, as PodSecurity `restricted` requires a non-root user. */
export const DEFAULT_POD_UID = 65534;
export const RESERVED_PREFIX = 'berth.dev/';
/** The berth name of a Pod whose metadata.name differs (renamed, or shortened to fit): see rename in kubernetes-runtime.ts. */
export const ANNOTATION_CONTAINER_NAME = 'berth.dev/container-name';
/** Set for network `none` or a named network: what a NetworkPolicy selects to isolate the Pod. */
export const LABEL_NETWORK = 'berth.dev/network';
/** berth labels kept as annotations on a Pod: their values are not valid label values, and no selector needs them. */
export const ANNOTATED_LABELS: readonly string[] = [LABEL.configFields, LABEL.createdAt];
/** The labels list() selects on: they must be valid label values. */
const SELECTED_LABELS: readonly string[] = [LABEL.managedBy, LABEL.kind, LABEL.namespace, LABEL.name];

const NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** A valid label value: empty, or up to 63 alphanumerics, '-', '_', '.', starting and ending alphanumeric. */
export const isLabelValue = (v: string): boolean => v === '' || (v.length <= 63 && NAME_PART.test(v));

/** A valid label or annotation key: [DNS-subdomain prefix '/'] name of up to 63 characters. */
export function isQualifiedName(k: string): boolean {
  const slash = k.indexOf('/');
  const prefix = slash >= 0 ? k.slice(0, slash) : undefined;
  const name = slash >= 0 ? k.slice(slash + 1) : k;
  if (prefix !== undefined && (prefix.length === 0 || prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) return false;
  return name.length > 0 && name.length <= 63 && NAME_PART.test(name);
}

const MAX_POD_NAME = 63;

/**
 * A valid Pod name for a berth name: lowercased, characters outside
 * [a-z0-9.-] as '-', trimmed to start and end alphanumeric, at most 63
 * characters (a Pod's hostname is its name, cut at 63). A name that had to
 * change beyond lowercasing keeps its uniqueness with a short hash suffix.
 */
export function podNameFor(name: string): string {
  let out = name.toLowerCase().replace(/[^a-z0-9.-]/g, '-').replace(/\.{2,}/g, '.').replace(/-*\.-*/g, '.');
  out = out.replace(/^[^a-z0-9]+/, '').replace(/[^a-z0-9]+$/, '');
  if (out === name.toLowerCase() && out.length > 0 && out.length <= MAX_POD_NAME) return out;
  const suffix = createHash('sha256').update(name).digest('hex').slice(0, 8);
  const head = out.slice(0, MAX_POD_NAME - suffix.length - 1).replace(/[^a-z0-9]+$/, '');
  return head ? `${head}-${suffix}` : `berth-${suffix}`;
}

/** Every $ doubled: Kubernetes reads $$ as a literal $, so $(VAR) is never expanded. */
export const escapeExpansion = (s: string): string => s.replace(/\$/g, '$$$$');

/** Nano-CPUs as millicores ("1500m"); at least 1m. */
export const cpuQuantity = (nanoCpus: number): string => `${Math.max(1, Math.ceil(nanoCpus / 1e6))}m`;

/** "1000" or "1000:2000" as runAsUser/runAsGroup; a user name is refused (the API has no names). */
export function parseUser(user: string): { uid: number; gid?: number } {
  const m = /^(\d+)(?::(\d+))?$/.exec(user.trim());
  if (!m) {
    throw new RuntimeError(
      'Invalid',
      `user ${JSON.stringify(user)}: Kubernetes Pods take a numeric uid or uid:gid (runAsUser/runAsGroup), not a name; use the numeric id from the image's /etc/passwd`,
    );
  }
  const out: { uid: number; gid?: number } = { uid: Number(m[1]) };
  if (m[2] !== undefined) out.gid = Number(m[2]);
  return out;
}

/** Capability names as Kubernetes spells them: upper case, without CAP_. */
export const capabilityName = (cap: string): string => cap.toUpperCase().replace(/^CAP_/, '');

/** The Pod's labels and annotations: berth's record of ownership plus the template's labels. */
export function podMetadata(req: CreateRequest): { labels: Record<string, string>; annotations: Record<string, string> } {
  const labels: Record<string, string> = {};
  const annotations: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.template.labels)) {
    if (k.startsWith(RESERVED_PREFIX)) continue; // a template cannot set berth's labels
    if (!isQualifiedName(k)) throw new RuntimeError('Invalid', `template label ${JSON.stringify(k)}: not a valid Kubernetes label key ([prefix/]name, name at most 63 characters of [A-Za-z0-9._-])`);
    if (!isLabelValue(v)) throw new RuntimeError('Invalid', `template label ${k}=${JSON.stringify(v)}: not a valid Kubernetes label value (at most 63 characters of [A-Za-z0-9._-], starting and ending alphanumeric)`);
    labels[k] = v;
  }
  for (const [k, v] of Object.entries(req.labels)) {
    if (ANNOTATED_LABELS.includes(k)) {
      annotations[k] = v;
      continue;
    }
    if (isLabelValue(v)) {
      labels[k] = v;
      continue;
    }
    if (SELECTED_LABELS.includes(k)) throw new RuntimeError('Invalid', `label ${k}=${JSON.stringify(v)}: not a valid Kubernetes label value, and list() selects on it`);
    annotations[k] = v; // decoded from the annotations like config-fields
  }
  const network = req.template.network;
  if (network !== 'bridge' && network !== 'host') labels[LABEL_NETWORK] = isLabelValue(network) ? network : 'custom';
  return { labels, annotations };
}

function securityContext(t: EffectiveTemplate): V1SecurityContext {
  const s = t.security;
  const add = s.capAdd.map(capabilityName);
  const sc: V1SecurityContext = {
    capabilities: { drop: s.capDrop.map(capabilityName), ...(add.length > 0 ? { add } : {}) },
    readOnlyRootFilesystem: s.readOnlyRootFilesystem,
    privileged: s.privileged,
  };
  // The API refuses allowPrivilegeEscalation=false together with privileged or CAP_SYS_ADMIN (which imply it).
  if (!s.privileged && !add.includes('SYS_ADMIN')) sc.allowPrivilegeEscalation = !s.noNewPrivileges;
  if (!s.privileged) sc.seccompProfile = { type: 'RuntimeDefault' };
  const { uid, gid } = t.user !== undefined ? parseUser(t.user) : { uid: DEFAULT_POD_UID, gid: DEFAULT_POD_UID };
  sc.runAsUser = uid;
  if (gid !== undefined) sc.runAsGroup = gid;
  if (uid !== 0) sc.runAsNonRoot = true;
  return sc;
}

function volumes(t: EffectiveTemplate): { volumes: V1Volume[]; mounts: V1VolumeMount[] } {
  const vols: V1Volume[] = [];
  const mounts: V1VolumeMount[] = [];
  t.mounts.forEach((m, i) => {
    const name = `vol-${i}`;
    if (m.type === 'tmpfs') vols.push({ name, emptyDir: { medium: 'Memory' } });
    else if (m.type === 'volume') vols.push({ name, persistentVolumeClaim: { claimName: m.source ?? '', ...(m.readOnly ? { readOnly: true } : {}) } });
    else vols.push({ name, hostPath: { path: m.source ?? '' } });
    mounts.push({ name, mountPath: m.target, ...(m.readOnly ? { readOnly: true } : {}) });
  });
  return { volumes: vols, mounts };
}

/** What the scheduler reserves per Pod at most: see the header. */
export const POD_REQUEST = { nanoCpus: 100e6, memoryBytes: 64 * 1024 * 1024 };

function container(t: EffectiveTemplate, mounts: V1VolumeMount[]): V1Container {
  const cpu = cpuQuantity(t.resources.nanoCpus);
  const memory = String(t.resources.memoryBytes);
  const requests = { cpu: cpuQuantity(Math.min(t.resources.nanoCpus, POD_REQUEST.nanoCpus)), memory: String(Math.min(t.resources.memoryBytes, POD_REQUEST.memoryBytes)) };
  const c: V1Container = {
    name: CONTAINER_NAME,
    image: t.image,
    imagePullPolicy: t.imagePullPolicy,
    env: t.env.map((e) => ({ name: e.name, value: escapeExpansion(e.value) })),
    ports: t.ports.map((p) => ({
      containerPort: p.containerPort,
      protocol: p.protocol,
      // A host binding only when the template fixes one (Docker's ephemeral host ports have no Pod equivalent).
      ...(p.hostPort !== undefined ? { hostPort: p.hostPort, hostIP: p.hostIP } : {}),
    })),
    resources: { limits: { cpu, memory }, requests },
    securityContext: securityContext(t),
    volumeMounts: mounts,
    stdin: false,
    tty: false,
  };
  if (t.command !== undefined) c.command = t.command.map(escapeExpansion);
  if (t.args !== undefined) c.args = t.args.map(escapeExpansion);
  if (t.workingDir !== undefined) c.workingDir = t.workingDir;
  return c;
}

export interface PodOptions {
  /** Where Pods go; default: the owner's namespace (label berth.dev/namespace). */
  namespace?: string | undefined;
  /** The owner to record in metadata.ownerReferences (the controller knows the custom resource's uid). */
  ownerReference?: ((labels: Record<string, string>) => V1OwnerReference | undefined) | undefined;
}

/** The namespace a request's Pod goes to. */
export const podNamespaceFor = (req: CreateRequest, opts: PodOptions): string => opts.namespace ?? req.labels[LABEL.namespace] ?? 'default';

/**
 * The Pod for a create request. ownerReferences only when the Pod lives in
 * its owner's namespace: a namespaced owner in another namespace is treated
 * by the garbage collector as absent, which deletes the Pod.
 */
export function podFor(req: CreateRequest, opts: PodOptions = {}): V1Pod {
  const t = req.template;
  const namespace = podNamespaceFor(req, opts);
  const name = podNameFor(req.name);
  const { labels, annotations } = podMetadata(req);
  if (name !== req.name) annotations[ANNOTATION_CONTAINER_NAME] = req.name;
  const { volumes: vols, mounts } = volumes(t);
  const spec: V1PodSpec = {
    containers: [container(t, mounts)],
    restartPolicy: 'Never',
    terminationGracePeriodSeconds: t.stopGracePeriodSeconds,
    automountServiceAccountToken: false,
    enableServiceLinks: false,
  };
  if (vols.length > 0) spec.volumes = vols;
  if (t.network === 'host') spec.hostNetwork = true;
  const pod: V1Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, labels, annotations }, spec };
  const owner = namespace === req.labels[LABEL.namespace] ? opts.ownerReference?.(req.labels) : undefined;
  if (owner) pod.metadata!.ownerReferences = [owner];
  return pod;
}

// The Pod-level and container-level fields berth sets: start() re-creates a
// Pod from exactly these, so what admission webhooks or the API server added
// (sidecars, injected volumes, nodeName, priority, activeDeadlineSeconds
// from stop) is added again by them, not copied.
const POD_SPEC_FIELDS = ['restartPolicy', 'terminationGracePeriodSeconds', 'automountServiceAccountToken', 'enableServiceLinks', 'hostNetwork'] as const;
const CONTAINER_FIELDS = ['name', 'image', 'imagePullPolicy', 'command', 'args', 'workingDir', 'env', 'ports', 'resources', 'securityContext', 'stdin', 'tty'] as const;

/** The body that creates a stored Pod again under the same name: berth's own metadata and spec fields only. */
export function recreateBody(pod: V1Pod): V1Pod {
  const meta = pod.metadata ?? {};
  const spec = pod.spec ?? { containers: [] };
  const main = spec.containers.find((c) => c.name === CONTAINER_NAME) ?? spec.containers[0];
  if (!main) throw new RuntimeError('Invalid', `pod ${meta.namespace}/${meta.name} has no container to run again`);
  const ourVolumes = (spec.volumes ?? []).filter((v) => /^vol-\d+$/.test(v.name));
  const ourNames = new Set(ourVolumes.map((v) => v.name));
  const c: V1Container = { name: main.name };
  for (const f of CONTAINER_FIELDS) if (main[f] !== undefined) (c as unknown as Record<string, unknown>)[f] = structuredClone(main[f]);
  const mounts = (main.volumeMounts ?? []).filter((m) => ourNames.has(m.name));
  if (mounts.length > 0) c.volumeMounts = structuredClone(mounts);
  const next: V1PodSpec = { containers: [c] };
  for (const f of POD_SPEC_FIELDS) if (spec[f] !== undefined) (next as unknown as Record<string, unknown>)[f] = spec[f];
  if (ourVolumes.length > 0) next.volumes = structuredClone(ourVolumes);
  const annotations = Object.fromEntries(Object.entries(meta.annotations ?? {}).filter(([k]) => k.startsWith(RESERVED_PREFIX)));
  const metadata: V1Pod['metadata'] = { name: meta.name, namespace: meta.namespace, labels: { ...(meta.labels ?? {}) }, annotations };
  if (meta.ownerReferences?.length) metadata.ownerReferences = structuredClone(meta.ownerReferences);
  return { apiVersion: 'v1', kind: 'Pod', metadata, spec: next };
}
