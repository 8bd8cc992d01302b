// Runs a Manager with the Kubernetes source and/or leader election, in the
// order that keeps both safe:
// - The custom-resource informers are listed into the store BEFORE the
//   Manager starts: its first resync prunes containers whose spec is missing,
//   so starting it on a half-filled store would remove live workloads.
// - With leader election, the Manager and the source run only while this
//   replica leads. Losing the lease stops them at once (source first: no more
//   status, finalizer or Event writes; then the Manager aborts in-flight
//   operations) and then either ends the process (onLost 'exit', what
//   controller-runtime does: the CLI exits non-zero and the Pod restarts as a
//   follower) or campaigns again with a fresh Manager (onLost 'restart').
// The HTTP API and health endpoints are the caller's and run throughout.
import type { KubeConfig, V1OwnerReference } from '@kubernetes/client-node';
import type { Manager } from './manager.js';
// Loaded on first use: @kubernetes/client-node costs ~70 MiB of RSS that file/Docker mode never needs.
import type { LeaderElector, LeaseLock } from '../sources/kubernetes/leader-election.js';
import { LABEL } from '../runtime/types.js';
import { API_VERSION, KINDS, parseKeyString, type Kind, type ResourceKey } from '../spec/schema.js';
import { BINDING_UNKNOWN } from '../state/claim-state.js';
import type { CustomResourceSource, CustomResourceSourceOptions } from '../sources/kubernetes/custom-resource-source.js';

type Logger = { debug(o: object, msg?: string): void; info(o: object, msg?: string): void; warn(o: object, msg?: string): void; error(o: object, msg?: string): void };

export interface LeaderElectionConfig {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** Tests: another lock than the Lease. */
  lock?: LeaseLock;
}

export interface ControllerRunnerOptions {
  /** Builds the Manager of one term (called once up front, and again per term with onLost 'restart'). */
  createManager(onPruned: (key: ResourceKey) => void): Manager;
  kubeConfig?: KubeConfig;
  /** Custom resources as the source of desired state (needs kubeConfig). */
  kubernetesSource?: Omit<CustomResourceSourceOptions, 'kubeConfig' | 'store' | 'recorder' | 'enqueue'>;
  /** Act only while holding this Lease (needs kubeConfig). */
  leaderElection?: LeaderElectionConfig;
  /** After losing the lease: 'exit' calls onExit(1) (default), 'restart' campaigns again. */
  onLost?: 'exit' | 'restart';
  onExit?(code: number): void;
  logger: Logger;
}

interface Term {
  manager: Manager;
  source: CustomResourceSource | undefined;
  stopping: Promise<void> | undefined;
}

export class ControllerRunner {
  private current: Term;
  private elector: LeaderElector | undefined;
  private readonly abort = new AbortController();
  private campaign: Promise<void> | undefined;
  private terms = 0;

  constructor(private readonly o: ControllerRunnerOptions) {
    if ((o.kubernetesSource || o.leaderElection) && !o.kubeConfig) throw new Error('the Kubernetes source and leader election need a kubeconfig');
    this.current = this.newTerm();
  }

  /** The Manager of the current (or next) term: its store is what the API serves. */
  get manager(): Manager {
    return this.current.manager;
  }

  get source(): CustomResourceSource | undefined {
    return this.current.source;
  }

  get leaderElector(): LeaderElector | undefined {
    return this.elector;
  }

  /** Acting now: leading (or no election) and the Manager started. */
  get acting(): boolean {
    return (!this.elector || this.elector.isLeader) && this.current.manager.ready;
  }

  /**
   * For /readyz: only the replica that acts is ready, so a Service sends API
   * requests to the leader alone (a follower's store is empty: it answered
   * lists with no items and kept claims it never acted on).
   */
  get ready(): boolean {
    if (this.elector && !this.elector.isLeader) return false;
    return this.current.manager.ready;
  }

  /** Why the API must not answer resource requests here (see ApiDeps.notServing). */
  notServing(): string | undefined {
    if (!this.elector || this.elector.isLeader) return undefined;
    return 'this replica is a follower standing by for the leader lease: it serves no resources; ask the leader (the Service routes to the ready replica) or retry';
  }

  /**
   * The custom resource owning a container with these labels, as an
   * ownerReference for its Pod (KubernetesRuntime's ownerReference option):
   * uid from the source's cache; undefined when the source does not know it.
   */
  ownerReference(labels: Record<string, string>): V1OwnerReference | undefined {
    const kind = labels[LABEL.kind];
    const namespace = labels[LABEL.namespace];
    const name = labels[LABEL.name];
    if (!kind || !namespace || !name || !Object.hasOwn(KINDS, kind)) return undefined;
    const uid = this.current.source?.object({ kind: kind as Kind, namespace, name })?.metadata.uid;
    return uid ? { apiVersion: API_VERSION, kind, name, uid, controller: true } : undefined;
  }

  /** How many times this replica started acting. */
  get termCount(): number {
    return this.terms;
  }

  /** Without election: resolves once acting. With: starts campaigning and resolves at once. */
  async start(): Promise<void> {
    const le = this.o.leaderElection;
    if (!le) {
      await this.startTerm(this.abort.signal);
      return;
    }
    const { LeaderElector, kubernetesLeaseLock } = await import('../sources/kubernetes/leader-election.js');
    this.elector = new LeaderElector({
      lock: le.lock ?? kubernetesLeaseLock(this.o.kubeConfig!, le.namespace, le.name),
      identity: le.identity,
      ...(le.leaseDurationMs !== undefined ? { leaseDurationMs: le.leaseDurationMs } : {}),
      ...(le.renewDeadlineMs !== undefined ? { renewDeadlineMs: le.renewDeadlineMs } : {}),
      ...(le.retryPeriodMs !== undefined ? { retryPeriodMs: le.retryPeriodMs } : {}),
      onStartedLeading: (signal) => this.startTerm(signal),
      onStoppedLeading: (reason) => {
        void this.stopTerm();
        if (reason === 'lost' && !this.abort.signal.aborted && (this.o.onLost ?? 'exit') === 'exit') {
          this.o.logger.error({ identity: le.identity }, 'leader lease lost: exiting');
          this.o.onExit?.(1);
        }
      },
      onNewLeader: (identity) => this.o.logger.info({ leader: identity, me: identity === le.identity }, 'leader elected'),
      logger: this.o.logger,
    });
    const elector = this.elector;
    this.campaign = (async () => {
      while (!this.abort.signal.aborted) {
        await elector.run(this.abort.signal);
        if ((this.o.onLost ?? 'exit') !== 'restart') return;
        await this.current.stopping;
      }
    })();
  }

  /** Graceful: stop acting (in-flight operations aborted, containers left running), then release the lease. */
  async stop(): Promise<void> {
    await this.stopTerm();
    this.abort.abort(new Error('controller stopping'));
    await this.campaign;
  }

  /** As if the process died: stop acting, keep the lease until it expires (failover tests). */
  async kill(): Promise<void> {
    this.elector?.abandon();
    this.abort.abort(new Error('controller killed'));
    await this.stopTerm();
    await this.campaign;
  }

  private newTerm(): Term {
    const term: Term = { manager: undefined as unknown as Manager, source: undefined, stopping: undefined };
    term.manager = this.o.createManager((key) => term.source?.onPruned(key));
    return term;
  }

  private async startTerm(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    if (this.current.stopping) {
      await this.current.stopping;
      this.current = this.newTerm();
    }
    const term = this.current;
    this.terms++;
    const log = this.o.logger;
    if (this.o.kubernetesSource) {
      const { CustomResourceSource } = await import('../sources/kubernetes/custom-resource-source.js');
      term.source = new CustomResourceSource({
        ...this.o.kubernetesSource,
        kubeConfig: this.o.kubeConfig!,
        store: term.manager.store,
        recorder: term.manager.recorder,
        enqueue: (key) => term.manager.enqueue(key),
        onClaimConflict: (key, status, editedBy) => term.manager.binder.serverSaid(key, status, editedBy),
      });
      // The claim's status in the apiserver is the record: a bind counts once a conditional write of it is taken.
      const source = term.source;
      term.manager.binder.recordBindsIn({
        records: (key) => term.manager.store.get(key)?.origin.source === 'kubernetes',
        write: (key, status) => source.writeClaimStatus(key, status),
      });
    }
    const onAbort = (): void => void this.stopTerm(term);
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted || term.stopping) return;
    log.info({ term: this.terms }, 'starting to act');
    await term.source?.start();
    if (signal.aborted || term.stopping) return;
    log.info({ resources: term.manager.store.list().length }, 'custom resources listed; starting the controller');
    // Every binding is rebuilt from the claims' statuses before anything binds.
    if (term.source) {
      const stored = term.source.storedClaims();
      term.manager.claims.rebuildFrom(stored);
      for (const c of stored) {
        if (c.editedBy === undefined) continue;
        const key = parseKeyString(c.id);
        log.warn({ claim: c.id, manager: c.editedBy }, "a claim's binding was changed outside berth while no leader acted; the claim fails");
        const message = term.manager.claims.claims.get(c.id)?.message ?? '';
        term.manager.recorder.record({ type: 'Warning', reason: BINDING_UNKNOWN, message, involvedObject: { kind: 'InstanceClaim', namespace: key.namespace, name: key.name } });
      }
    }
    await term.manager.start();
  }

  private stopTerm(term: Term = this.current): Promise<void> {
    // Both at once: the source's writes and the Manager's operations stop together.
    term.stopping ??= Promise.all([term.source?.stop(), term.manager.stop()]).then(() => undefined);
    return term.stopping;
  }
}
