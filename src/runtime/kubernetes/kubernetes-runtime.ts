// The Runtime on Kubernetes: each managed container is one Pod (container
// `main`), driven by the same planner and lifecycle machine as on Docker.
// Every call has a deadline and takes an AbortSignal (call.ts); the Pod
// mapping, observation, exec, events, logs and usage live in their own files;
// this class wires them together and holds the semantics that differ from
// Docker, chosen so the controller needs no Kubernetes branches. The
// controller's operations map onto the steps below: launch is create then
// start, relaunch is start, halt is stop, promote is rename, retire is stop
// (for a Pod that still runs) then remove.
//
// - id: `<namespace>/<pod name>` (observe.ts). Stable across start(), which
//   re-creates an exited Pod under its name. An id of another shape names no
//   Pod: NotFound (so remove() of it is success).
// - create: the Pod runs as soon as the kubelet can; until then list reports
//   it `created` (Pending). There is no "created, held" state on Kubernetes.
// - start: a Pending or Running Pod is waited for until it runs (scheduling
//   and image pull: up to timeouts.start), so `running` in the lifecycle
//   machine means the process exists and probes can exec into it. A pull
//   that fails (ErrImagePull, ImagePullBackOff, ...) is ImagePullFailed, as on
//   Docker. An exited Pod (Succeeded/Failed) cannot run again: it is deleted
//   (at once: the API deletes finished Pods without grace) and created again
//   from its stored spec under the same name, with the same labels and
//   annotations (so the same id and createdAt), then waited for.
// - stop: Kubernetes stops a Pod's containers without deleting it when its
//   spec.activeDeadlineSeconds has passed: the kubelet sends SIGTERM, kills
//   after terminationGracePeriodSeconds, and marks the Pod Failed
//   (DeadlineExceeded) with the container's exit code; the Pod stays, as a
//   stopped Docker container does (kubectl shows it Failed). stop() sets
//   activeDeadlineSeconds to 1 (a mutable field that may only shrink) and
//   waits for the exit. The grace period is the Pod's
//   terminationGracePeriodSeconds, which berth sets from
//   stopGracePeriodSeconds at create and Kubernetes does not let change: the
//   graceSeconds argument only bounds the wait. A Pod that never reached a
//   node has no process: stop() deletes it (an Instance in state Stopped then
//   has no Pod, which the planner accepts).
// - restart (the planner's stop + start) is therefore: the kubelet stops the
//   process, then the Pod is re-created under its name.
// - retire with less grace than the Pod's own (a pool member released under
//   recycle.gracePeriodSeconds, 0 by default): no stop, a DELETE with that
//   grace (at least 1 s), so the kubelet kills the process after it.
// - remove: DELETE with the uid as precondition (never another Pod that took
//   the name meanwhile), default grace, then waits until the Pod is gone (at
//   once for a stopped Pod, which is how the lifecycle machine removes), at
//   most its grace period plus timeouts.removeExtra; a Pod still terminating
//   then is success too (list reports it `removing`, which the planner skips).
// - rename: Pods cannot be renamed. The planner renames a replacement that
//   was created under a temporary name once the old container is gone; on
//   Kubernetes the Pod keeps its metadata.name (and so its id) and berth's
//   name is recorded in the annotation berth.dev/container-name, which list
//   reports as ObservedContainer.name. `kubectl get pods` shows the temporary
//   name (berth-<ns>-<name>-<hash>), like a ReplicaSet's generated names.
// - ensureImage: the kubelet pulls, on the node that runs the Pod; the
//   controller has nothing to check. A failed pull surfaces from start().
// - usage: metrics.k8s.io when served (metrics-server), else {} (no pids).
// - berth never touches a Pod without its managed-by label: mutating calls
//   read the Pod first and refuse one that lacks it.
import { CoreV1Api, CustomObjectsApi, NetworkingV1Api, VersionApi, type KubeConfig, type V1OwnerReference, type V1Pod } from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import { RuntimeError, isRuntimeError } from '../errors.js';
import { LABEL, type ContainerUsage, type CreateRequest, type ExecRequest, type EventFilter, type ExecResult, type ListFilter, type ObservedContainer, type OnStep, type PathStat, type Runtime, type RuntimeEvent } from '../types.js';
import { stopThenRemove } from '../compound.js';
import { SteppedRuntime } from '../stepped-runtime.js';
import { DEFAULT_TIMEOUTS, MERGE_PATCH, abortError, callOptions, httpCodeOf, kubeCall, type KubeTimeouts } from './call.js';
import { subscribePodEvents } from './events.js';
import { getPodArchive, putPodArchive, statPodPath } from './archive.js';
import { runPodExec, type ExecContext } from './exec.js';
import { podLogs } from './logs.js';
import { isTerminalPhase, labelSelector, observedFromPod, parsePodId, podId, podState, runFinished, startFailure } from './observe.js';
import { isolationPolicyFor } from './network-policy.js';
import { ANNOTATION_CONTAINER_NAME, podFor, recreateBody } from './pod-spec.js';
import { openStream } from './stream.js';
import { usageFromPodMetrics, type PodMetricsDocument } from './usage.js';

export interface KubernetesRuntimeOptions {
  kubeConfig: KubeConfig;
  /** Where Pods go when the owner's namespace should be mapped (one namespace for all); default: the owner's namespace. */
  namespace?: string;
  /** The owner reference of a Pod (the controller supplies the custom resource's uid); only set when the Pod is in its owner's namespace. */
  ownerReference?: (labels: Record<string, string>) => V1OwnerReference | undefined;
  timeouts?: Partial<KubeTimeouts>;
  /** A watch that sends nothing, not even a bookmark, this long is taken as dead (default 90 s). */
  stallTimeoutMs?: number;
  /** The watch's timeoutSeconds, drawn per watch (default 300..360). */
  watchTimeoutSeconds?: () => number;
  /**
   * Mount PersistentVolumeClaims (named volumes) berth did not create; it
   * creates none, so without this (--allow-foreign-volumes) a named volume is refused.
   */
  allowForeignVolumes?: boolean;
}

/** A Pod that is being deleted gets this long beyond its grace period to go before a create under its name gives up. */
const NAME_RELEASE_EXTRA_MS = 15_000;
const MAX_NO_ENV_MEMO = 4096;

export class KubernetesRuntime extends SteppedRuntime implements Runtime {
  readonly name = 'kubernetes' as const;
  readonly kubeConfig: KubeConfig;
  readonly timeouts: KubeTimeouts;
  private readonly core: CoreV1Api;
  private readonly custom: CustomObjectsApi;
  private readonly networking: NetworkingV1Api;
  private readonly versionApi: VersionApi;
  private readonly namespace: string | undefined;
  private readonly allowForeignVolumes: boolean;
  private readonly ownerReference: KubernetesRuntimeOptions['ownerReference'];
  private readonly stallTimeoutMs: number;
  private readonly watchTimeoutSeconds: (() => number) | undefined;
  private readonly noEnv = new Set<string>();

  constructor(opts: KubernetesRuntimeOptions) {
    super();
    this.kubeConfig = opts.kubeConfig;
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...opts.timeouts };
    this.core = opts.kubeConfig.makeApiClient(CoreV1Api);
    this.custom = opts.kubeConfig.makeApiClient(CustomObjectsApi);
    this.networking = opts.kubeConfig.makeApiClient(NetworkingV1Api);
    this.versionApi = opts.kubeConfig.makeApiClient(VersionApi);
    this.namespace = opts.namespace;
    this.allowForeignVolumes = opts.allowForeignVolumes ?? false;
    this.ownerReference = opts.ownerReference;
    this.stallTimeoutMs = opts.stallTimeoutMs ?? 90_000;
    this.watchTimeoutSeconds = opts.watchTimeoutSeconds;
  }

  async ping(signal?: AbortSignal): Promise<void> {
    await kubeCall('ping', this.timeouts.ping, signal, (s) => this.versionApi.getCode(undefined, callOptions(s)));
  }

  /** One list call: in the runtime's namespace, or the filter's, or all namespaces. */
  async list(filter: ListFilter, signal?: AbortSignal): Promise<ObservedContainer[]> {
    const selector = labelSelector(filter);
    const namespace = this.namespace ?? filter.namespace;
    const list = await kubeCall('list pods', this.timeouts.list, signal, (s) =>
      namespace !== undefined
        ? this.core.listNamespacedPod({ namespace, labelSelector: selector }, callOptions(s))
        : this.core.listPodForAllNamespaces({ labelSelector: selector }, callOptions(s)),
    );
    return list.items.flatMap((pod) => {
      const o = observedFromPod(pod);
      return o ? [o] : [];
    });
  }

  async inspect(id: string, signal?: AbortSignal): Promise<ObservedContainer> {
    const pod = await this.managedPod(id, 'inspect', signal);
    const o = observedFromPod(pod);
    if (!o) throw new RuntimeError('Invalid', `pod ${id} carries ${LABEL.managedBy} but not a complete berth identity (kind, namespace, name labels)`);
    return o;
  }

  /** The kubelet pulls on the node that runs the Pod; a failed pull surfaces from start() as ImagePullFailed. */
  async ensureImage(_image: string, _policy: 'IfNotPresent' | 'Always' | 'Never', signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw abortError(signal);
  }

  /**
   * A Pod that still runs is stopped first (its delete would not end the
   * process at once), then deleted; the Pod is read once for both. The
   * grace is the Pod's own (see the header): graceSeconds bounds the wait.
   */
  async retire(id: string, graceSeconds: number, signal?: AbortSignal, onStep?: OnStep): Promise<void> {
    const pod = await this.managedPodOrGone(id, signal);
    if (!pod) return;
    const runs = !pod.metadata?.deletionTimestamp && !podStopped(pod);
    // Asked for less grace than the Pod's own (a pool's recycle.gracePeriodSeconds, 0 by default): a stop
    // would wait out terminationGracePeriodSeconds (fixed at create) when PID 1 ignores SIGTERM, so the Pod
    // is deleted with the shorter grace instead. At least 1 s: 0 is a forced delete, gone from the API while
    // its process may still run, and the pool would count it gone before it is.
    if (runs && pod.spec?.nodeName && graceSeconds < (pod.spec.terminationGracePeriodSeconds ?? 30)) {
      return stopThenRemove(undefined, () => this.removePod(id, pod, signal, Math.max(1, Math.ceil(graceSeconds))), onStep, signal);
    }
    return stopThenRemove(runs ? () => this.stopPod(id, pod, graceSeconds, signal) : undefined, () => this.removePod(id, pod, signal), onStep, signal);
  }

  /** Creates the Pod (which then runs as soon as it can); a taken name is Conflict. */
  protected async create(req: CreateRequest, signal?: AbortSignal): Promise<string> {
    if (!req.labels[LABEL.managedBy]) throw new RuntimeError('Invalid', `refusing to create ${req.name} without the label ${LABEL.managedBy}`);
    if (!this.allowForeignVolumes) {
      const i = req.template.mounts.findIndex((m) => m.type === 'volume' && m.source);
      if (i >= 0) {
        const base = req.labels[LABEL.kind] === 'InstancePool' ? 'spec.template.mounts' : 'spec.mounts';
        throw new RuntimeError('Invalid', `${base}[${i}].source: PersistentVolumeClaim ${JSON.stringify(req.template.mounts[i]!.source)} was not created by berth for this resource; mounting it is refused (start the controller with --allow-foreign-volumes)`);
      }
    }
    const body = podFor(req, { namespace: this.namespace, ownerReference: this.ownerReference });
    return this.createPod(body, signal);
  }

  /** Waits for a Pending or Running Pod to run; re-creates an exited one under its name. */
  protected async start(id: string, signal?: AbortSignal): Promise<void> {
    const pod = await this.managedPod(id, 'start', signal);
    const { namespace, name } = parsePodId(id)!;
    this.noEnv.delete(id); // a new Pod under the name: its image may differ
    if (pod.metadata?.deletionTimestamp) {
      // Going away (stopped by deletion, or removed): run it again once the name is free.
      await this.waitGone(namespace, name, pod.metadata.uid, this.releaseWaitMs(pod), signal);
      await this.createPod(recreateBody(pod), signal);
    } else if (runFinished(pod)) {
      await this.deletePod(namespace, name, pod.metadata?.uid, signal);
      await this.waitGone(namespace, name, pod.metadata?.uid, this.releaseWaitMs(pod), signal);
      await this.createPod(recreateBody(pod), signal);
    }
    await this.waitRunning(namespace, name, signal);
  }

  /**
   * Sets activeDeadlineSeconds so the kubelet stops the Pod and keeps it
   * (Failed, DeadlineExceeded), then waits for the exit; stopping a stopped
   * Pod is success. See the header.
   */
  protected async stop(id: string, graceSeconds: number, signal?: AbortSignal): Promise<void> {
    return this.stopPod(id, await this.managedPod(id, 'stop', signal), graceSeconds, signal);
  }

  private async stopPod(id: string, pod: V1Pod, graceSeconds: number, signal?: AbortSignal): Promise<void> {
    const { namespace, name } = parsePodId(id)!;
    if (pod.metadata?.deletionTimestamp || podStopped(pod)) return;
    if (!pod.spec?.nodeName) {
      await this.deletePod(namespace, name, pod.metadata?.uid, signal);
      return;
    }
    const current = pod.spec.activeDeadlineSeconds;
    if (!isTerminalPhase(pod.status?.phase) && (current === undefined || current > 1)) {
      await kubeCall('stop (patch activeDeadlineSeconds)', this.timeouts.call, signal, (s) =>
        this.core.patchNamespacedPod({ namespace, name, body: { spec: { activeDeadlineSeconds: 1 } } }, callOptions(s, MERGE_PATCH)),
      );
    }
    const grace = Math.max(pod.spec.terminationGracePeriodSeconds ?? 30, Math.ceil(graceSeconds));
    const until = Date.now() + grace * 1000 + this.timeouts.stopExtra;
    await this.poll(`pod ${id} to stop`, until, signal, async () => {
      const p = await this.getPod(namespace, name, signal).catch((e: unknown) => {
        if (isRuntimeError(e, 'NotFound')) return undefined;
        throw e;
      });
      if (!p || p.metadata?.uid !== pod.metadata?.uid || p.metadata?.deletionTimestamp) return true;
      // Failed comes first, the container's exit (and its code) after it.
      return podStopped(p) ? true : undefined;
    });
  }

  /** Deletes the Pod and waits (bounded) until it is gone; a missing Pod is success. */
  private async remove(id: string, signal?: AbortSignal): Promise<void> {
    const pod = await this.managedPodOrGone(id, signal);
    if (pod) await this.removePod(id, pod, signal);
  }

  /** graceSeconds: the delete's grace period instead of the Pod's terminationGracePeriodSeconds. */
  private async removePod(id: string, pod: V1Pod, signal?: AbortSignal, graceSeconds?: number): Promise<void> {
    const { namespace, name } = parsePodId(id)!;
    this.noEnv.delete(id);
    await this.deletePod(namespace, name, pod.metadata?.uid, signal, graceSeconds);
    const grace = graceSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
    await this.waitGone(namespace, name, pod.metadata?.uid, grace * 1000 + this.timeouts.removeExtra, signal).catch((e: unknown) => {
      if (isRuntimeError(e, 'Timeout')) return; // still terminating: it is going away
      throw e;
    });
  }

  /** Records berth's name in an annotation: Pods cannot be renamed (see the header). */
  protected async rename(id: string, name: string, signal?: AbortSignal): Promise<void> {
    const pod = await this.managedPod(id, 'rename', signal);
    const { namespace, name: podName } = parsePodId(id)!;
    const current = pod.metadata?.annotations?.[ANNOTATION_CONTAINER_NAME];
    const wanted = name === podName ? null : name;
    if ((current ?? null) === wanted) return;
    await kubeCall('rename (annotate)', this.timeouts.call, signal, (s) =>
      this.core.patchNamespacedPod({ namespace, name: podName, body: { metadata: { annotations: { [ANNOTATION_CONTAINER_NAME]: wanted } } } }, callOptions(s, MERGE_PATCH)),
    );
  }

  /** Pod labels can change: a bound member says which claim holds it (see reconcile/claim/claim-label.ts). */
  async setClaimLabel(id: string, value: string | undefined, signal?: AbortSignal): Promise<void> {
    const ref = parsePodId(id);
    if (!ref) throw notAPod(id);
    try {
      await kubeCall('label the claim', this.timeouts.call, signal, (s) =>
        this.core.patchNamespacedPod({ namespace: ref.namespace, name: ref.name, body: { metadata: { labels: { [LABEL.claim]: value ?? null } } } }, callOptions(s, MERGE_PATCH)),
      );
    } catch (e) {
      if (isRuntimeError(e, 'NotFound')) return;
      throw e;
    }
  }

  exec(id: string, req: ExecRequest, signal?: AbortSignal): Promise<ExecResult> {
    const ref = parsePodId(id);
    if (!ref) return Promise.reject(notAPod(id));
    if (this.noEnv.size > MAX_NO_ENV_MEMO) this.noEnv.clear();
    const ctx = {
      kc: this.kubeConfig,
      t: this.timeouts,
      explain: (code: number, s?: AbortSignal) => this.explainExecRefusal(ref.namespace, ref.name, code, s),
    };
    return runPodExec(ctx, ref.namespace, ref.name, req, { noEnv: this.noEnv }, signal);
  }

  statPath(id: string, path: string, signal?: AbortSignal): Promise<PathStat | undefined> {
    const { ref, ctx } = this.archiveContext(id);
    return statPodPath(ctx, ref.namespace, ref.name, path, signal);
  }

  getArchive(id: string, path: string, maxBytes: number, signal?: AbortSignal): Promise<Buffer> {
    const { ref, ctx } = this.archiveContext(id);
    return getPodArchive(ctx, ref.namespace, ref.name, path, maxBytes, signal);
  }

  async putArchive(id: string, dir: string, archive: Buffer, signal?: AbortSignal): Promise<void> {
    const { ref, ctx } = this.archiveContext(id);
    await this.managedPod(id, 'copy into', signal); // never write into a Pod berth does not manage
    return putPodArchive(ctx, ref.namespace, ref.name, dir, archive, signal);
  }

  private archiveContext(id: string): { ref: { namespace: string; name: string }; ctx: ExecContext } {
    const ref = parsePodId(id);
    if (!ref) throw notAPod(id);
    return { ref, ctx: { kc: this.kubeConfig, t: this.timeouts, explain: (code: number, s?: AbortSignal) => this.explainExecRefusal(ref.namespace, ref.name, code, s) } };
  }

  logs(id: string, opts: { tail?: number; follow?: boolean }, signal?: AbortSignal): Promise<NodeJS.ReadableStream> {
    const ref = parsePodId(id);
    if (!ref) return Promise.reject(notAPod(id));
    return podLogs(this.kubeConfig, ref.namespace, ref.name, opts, this.timeouts, signal);
  }

  /** PodMetrics from metrics.k8s.io; {} when that API is not served (no metrics-server) or has no sample yet. */
  async usage(id: string, signal?: AbortSignal): Promise<ContainerUsage> {
    const ref = parsePodId(id);
    if (!ref) throw notAPod(id);
    try {
      const doc = await kubeCall('usage (metrics.k8s.io)', this.timeouts.metrics, signal, (s) =>
        this.custom.getNamespacedCustomObject({ group: 'metrics.k8s.io', version: 'v1beta1', namespace: ref.namespace, plural: 'pods', name: ref.name }, callOptions(s)),
      );
      return usageFromPodMetrics(doc as PodMetricsDocument);
    } catch (e) {
      if (isRuntimeError(e, 'NotFound') || httpCodeOf(e) === 503) return {};
      throw e;
    }
  }

  events(onEvent: (e: RuntimeEvent) => void, signal: AbortSignal, onError?: (e: Error) => void, filter?: EventFilter): void {
    const selector = filter?.managedBy !== undefined ? `${LABEL.managedBy}=${filter.managedBy}` : LABEL.managedBy;
    const ns = this.namespace;
    const path = ns !== undefined ? `/api/v1/namespaces/${encodeURIComponent(ns)}/pods` : '/api/v1/pods';
    subscribePodEvents(
      {
        list: async (s) => {
          const items: V1Pod[] = [];
          let cont: string | undefined;
          let resourceVersion = '';
          do {
            const page = await kubeCall('list pods (events)', this.timeouts.list, s, (cs) => {
              const q = { labelSelector: selector, limit: 500, ...(cont ? { _continue: cont } : {}) };
              return ns !== undefined ? this.core.listNamespacedPod({ namespace: ns, ...q }, callOptions(cs)) : this.core.listPodForAllNamespaces(q, callOptions(cs));
            });
            items.push(...page.items);
            resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
            cont = page.metadata?._continue || undefined;
          } while (cont);
          return { resourceVersion, items };
        },
        watch: (resourceVersion, timeoutSeconds, s) =>
          openStream(
            this.kubeConfig,
            'watch pods',
            path,
            { watch: 'true', resourceVersion, allowWatchBookmarks: 'true', timeoutSeconds: String(timeoutSeconds), labelSelector: selector },
            s,
            this.timeouts.watchConnect,
          ),
      },
      onEvent,
      signal,
      onError,
      { stallTimeoutMs: this.stallTimeoutMs, ...(this.watchTimeoutSeconds ? { watchTimeoutSeconds: this.watchTimeoutSeconds } : {}) },
    );
  }

  // ---------------- helpers ----------------

  private getPod(namespace: string, name: string, signal?: AbortSignal): Promise<V1Pod> {
    return kubeCall(`get pod ${namespace}/${name}`, this.timeouts.call, signal, (s) => this.core.readNamespacedPod({ namespace, name }, callOptions(s)));
  }

  /** The Pod behind an id, refusing one without berth's managed-by label. */
  private async managedPod(id: string, op: string, signal?: AbortSignal): Promise<V1Pod> {
    const ref = parsePodId(id);
    if (!ref) throw notAPod(id);
    const pod = await this.getPod(ref.namespace, ref.name, signal);
    if (!pod.metadata?.labels?.[LABEL.managedBy]) {
      throw new RuntimeError('Invalid', `refusing to ${op} pod ${id}: it lacks the label ${LABEL.managedBy}, so berth does not manage it`);
    }
    return pod;
  }

  /** The Pod to remove, or undefined when it is gone already (a removal's success). */
  private async managedPodOrGone(id: string, signal?: AbortSignal): Promise<V1Pod | undefined> {
    try {
      return await this.managedPod(id, 'remove', signal);
    } catch (e) {
      if (isRuntimeError(e, 'NotFound')) return undefined;
      throw e;
    }
  }

  /**
   * POST the Pod. A taken name is Conflict, unless the holder is a Pod of
   * berth's that is being deleted (a stop-first replacement, a restart):
   * then the create waits for the name to be free and tries once more.
   */
  private async createPod(body: V1Pod, signal?: AbortSignal): Promise<string> {
    const namespace = body.metadata!.namespace!;
    const name = body.metadata!.name!;
    const post = (): Promise<V1Pod> => kubeCall(`create pod ${namespace}/${name}`, this.timeouts.create, signal, (s) => this.core.createNamespacedPod({ namespace, body }, callOptions(s)));
    let created: V1Pod;
    try {
      created = await post();
    } catch (e) {
      if (!isRuntimeError(e, 'Conflict')) throw e;
      const holder = await this.getPod(namespace, name, signal).catch(() => undefined);
      if (!holder?.metadata?.labels?.[LABEL.managedBy] || !holder.metadata.deletionTimestamp) throw e;
      await this.waitGone(namespace, name, holder.metadata.uid, this.releaseWaitMs(holder), signal);
      created = await post();
    }
    await this.isolate(created, signal);
    return podId(namespace, name);
  }

  /**
   * network `none`: a deny-all NetworkPolicy (no ingress, no egress) for the
   * Pod, owned by it so the garbage collector removes it with the Pod. A
   * policy left by the Pod's previous run under the same name (start()
   * re-creates Pods) is taken over: replaced with this Pod as its owner.
   * Enforced by the cluster's network plugin (one that implements
   * NetworkPolicy: Calico, Cilium, ...).
   */
  private async isolate(pod: V1Pod, signal?: AbortSignal): Promise<void> {
    const policy = isolationPolicyFor(pod);
    if (!policy) return;
    const namespace = policy.metadata!.namespace!;
    const name = policy.metadata!.name!;
    try {
      await kubeCall(`create networkpolicy ${namespace}/${name}`, this.timeouts.call, signal, (s) => this.networking.createNamespacedNetworkPolicy({ namespace, body: policy }, callOptions(s)));
    } catch (e) {
      if (!isRuntimeError(e, 'Conflict')) throw e;
      const existing = await kubeCall(`get networkpolicy ${namespace}/${name}`, this.timeouts.call, signal, (s) => this.networking.readNamespacedNetworkPolicy({ namespace, name }, callOptions(s)));
      policy.metadata!.resourceVersion = existing.metadata?.resourceVersion;
      await kubeCall(`replace networkpolicy ${namespace}/${name}`, this.timeouts.call, signal, (s) => this.networking.replaceNamespacedNetworkPolicy({ namespace, name, body: policy }, callOptions(s)));
    }
  }

  /** DELETE with the uid as precondition; gone (404) or replaced meanwhile (409) is success. */
  private async deletePod(namespace: string, name: string, uid: string | undefined, signal?: AbortSignal, gracePeriodSeconds?: number): Promise<void> {
    try {
      await kubeCall(`delete pod ${namespace}/${name}`, this.timeouts.call, signal, (s) =>
        this.core.deleteNamespacedPod({ namespace, name, body: { ...(uid ? { preconditions: { uid } } : {}), ...(gracePeriodSeconds !== undefined ? { gracePeriodSeconds } : {}) } }, callOptions(s)),
      );
    } catch (e) {
      if (isRuntimeError(e, 'NotFound') || (uid && isRuntimeError(e, 'Conflict'))) return;
      throw e;
    }
  }

  private releaseWaitMs(pod: V1Pod): number {
    return ((pod.metadata?.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30) * 1000) + NAME_RELEASE_EXTRA_MS;
  }

  /** Until the Pod with this uid is gone (404, or another uid holds the name); Timeout after withinMs. */
  private async waitGone(namespace: string, name: string, uid: string | undefined, withinMs: number, signal?: AbortSignal): Promise<void> {
    await this.poll(`pod ${namespace}/${name} to be gone`, Date.now() + withinMs, signal, async () => {
      try {
        const p = await this.getPod(namespace, name, signal);
        return uid !== undefined && p.metadata?.uid !== uid ? true : undefined;
      } catch (e) {
        if (isRuntimeError(e, 'NotFound')) return true;
        throw e;
      }
    });
  }

  /** Until the Pod runs (or already ran and exited); ImagePullFailed / Invalid when its container cannot start. */
  private async waitRunning(namespace: string, name: string, signal?: AbortSignal): Promise<V1Pod> {
    let last: V1Pod | undefined;
    const waitingSince = Date.now();
    try {
      return await this.poll(`pod ${namespace}/${name} to run`, Date.now() + this.timeouts.start, signal, async () => {
        const pod = await this.getPod(namespace, name, signal);
        last = pod;
        const state = podState(pod);
        if (state !== 'created') return pod;
        const failure = startFailure(pod);
        if (failure?.imagePull) {
          const image = pod.spec?.containers[0]?.image ?? '';
          throw new RuntimeError('ImagePullFailed', `pod ${namespace}/${name}: image ${image} cannot be pulled (${failure.reason}): ${failure.message}`, { reason: failure.reason });
        }
        if (failure) throw new RuntimeError('Invalid', `pod ${namespace}/${name}: the container cannot start (${failure.reason}): ${failure.message}`, { reason: failure.reason });
        // The scheduler found no node (a missing PVC, no room): say so after a short grace instead of waiting out timeouts.start.
        const scheduled = (pod.status?.conditions ?? []).find((c) => c.type === 'PodScheduled');
        if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable' && Date.now() - waitingSince >= this.timeouts.unschedulableGrace) {
          throw new RuntimeError('Invalid', `pod ${namespace}/${name} cannot be scheduled (Unschedulable): ${scheduled.message ?? 'no node fits'}`, { reason: 'Unschedulable' });
        }
        return undefined;
      });
    } catch (e) {
      if (isRuntimeError(e, 'Timeout') && last) {
        const scheduled = (last.status?.conditions ?? []).find((c) => c.type === 'PodScheduled');
        const waiting = last.status?.containerStatuses?.[0]?.state?.waiting;
        const why = scheduled?.status === 'False' ? `not scheduled: ${scheduled.message ?? scheduled.reason ?? 'unknown'}` : `still ${last.status?.phase ?? 'Pending'}${waiting?.reason ? ` (${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''})` : ''}`;
        // Bounded: the kubelet's reason (ContainerCreating, ...) is reported and the work queue retries with backoff.
        throw new RuntimeError('Invalid', `pod ${namespace}/${name} did not start within ${this.timeouts.start} ms: ${why}`, { cause: e, reason: scheduled?.status === 'False' ? (scheduled.reason ?? 'Unschedulable') : 'StartTimeout' });
      }
      throw e;
    }
  }

  /** Polls `check` (100 ms doubling to 1 s) until it returns a value; Timeout at `until`. */
  private async poll<T>(what: string, until: number, signal: AbortSignal | undefined, check: () => Promise<T | undefined>): Promise<T> {
    let delay = 100;
    for (;;) {
      const v = await check();
      if (v !== undefined) return v;
      if (Date.now() >= until) throw new RuntimeError('Timeout', `timed out waiting for ${what}`);
      await sleep(Math.min(delay, Math.max(0, until - Date.now())), undefined, signal ? { signal } : undefined).catch(() => {
        if (signal?.aborted) throw abortError(signal);
      });
      delay = Math.min(delay * 2, 1_000);
    }
  }

  /** Why the API server refused an exec before the stream opened (it says only the status code). */
  private async explainExecRefusal(namespace: string, name: string, code: number, signal?: AbortSignal): Promise<RuntimeError> {
    const id = podId(namespace, name);
    const pod = await this.getPod(namespace, name, signal).catch((e: unknown) => e as Error);
    if (pod instanceof Error) return isRuntimeError(pod, 'NotFound') ? new RuntimeError('NotFound', `exec: no pod ${id}`) : (pod as RuntimeError);
    const state = podState(pod);
    if (state !== 'running') return new RuntimeError('Conflict', `exec: pod ${id} is not running (${state}, phase ${pod.status?.phase ?? 'unknown'})`);
    return new RuntimeError(code === 404 ? 'NotFound' : 'Invalid', `exec in pod ${id}: the API server refused the stream (${code})`);
  }
}

/** The kubelet stopped the Pod's process: Succeeded or Failed, and the container no longer runs. */
function podStopped(p: V1Pod): boolean {
  return isTerminalPhase(p.status?.phase) && podState(p) !== 'running';
}

function notAPod(id: string): RuntimeError {
  return new RuntimeError('NotFound', `no pod ${JSON.stringify(id)}: Kubernetes container ids are <namespace>/<pod name>`);
}
