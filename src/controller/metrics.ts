// Prometheus metrics, names modelled on controller-runtime so existing
// dashboards and alerts read them: reconcile totals and durations, workqueue
// (see workqueue-metrics.ts), runtime operation latency, members by phase.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ResourceStore } from './resource-store.js';
import type { ClaimMetrics } from './claim-binder.js';

export interface ControllerMetrics {
  registry: Registry;
  claims: ClaimMetrics;
  reconcileTotal: Counter<'controller' | 'result'>;
  reconcileErrors: Counter<'controller'>;
  reconcileTime: Histogram<'controller'>;
  runtimeOp: Histogram<'op' | 'result'>;
  /** 1 while a source cannot be read whole (nothing it may declare is pruned). */
  sourceDegraded: Gauge<'source'>;
}

const EVENT_LOOP_SAMPLE_MS = 1000;

export function createMetrics(store: ResourceStore): ControllerMetrics {
  const registry = new Registry();
  // The event-loop lag histogram samples on a timer of its own: prom-client's default of 10 ms woke an
  // idle controller ~180 times a second (most of its idle CPU). One sample a second still shows a stall.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  const reconcileTotal = new Counter({
    name: 'controller_runtime_reconcile_total',
    help: 'Total number of reconciliations per controller',
    labelNames: ['controller', 'result'],
    registers: [registry],
  });
  const reconcileErrors = new Counter({ name: 'controller_runtime_reconcile_errors_total', help: 'Total number of reconciliation errors per controller', labelNames: ['controller'], registers: [registry] });
  const reconcileTime = new Histogram({
    name: 'controller_runtime_reconcile_time_seconds',
    help: 'Length of time per reconciliation per controller',
    labelNames: ['controller'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  const runtimeOp = new Histogram({
    name: 'berth_runtime_operation_duration_seconds',
    help: 'Latency of runtime (engine) operations by operation and result',
    labelNames: ['op', 'result'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const sourceDegraded = new Gauge({
    name: 'berth_source_degraded',
    help: '1 while a source of desired state cannot be read whole (missing directory, unreadable or invalid file); nothing it may declare is pruned meanwhile',
    labelNames: ['source'],
    registers: [registry],
  });
  new Gauge({
    name: 'berth_instances',
    help: 'Instances by status phase',
    labelNames: ['phase'],
    registers: [registry],
    collect() {
      this.reset();
      for (const e of store.list('Instance')) this.inc({ phase: (e.object.status as { phase?: string } | undefined)?.phase ?? 'Unknown' });
    },
  });
  new Gauge({
    name: 'berth_pool_members',
    help: 'InstancePool members by state (ready = warm and probe-passing)',
    labelNames: ['namespace', 'pool', 'state'],
    registers: [registry],
    collect() {
      this.reset();
      for (const e of store.list('InstancePool')) {
        const s = e.object.status as { replicas?: number; ready?: number; claimed?: number } | undefined;
        if (!s) continue;
        const labels = { namespace: e.object.metadata.namespace, pool: e.object.metadata.name };
        this.set({ ...labels, state: 'ready' }, s.ready ?? 0);
        this.set({ ...labels, state: 'claimed' }, s.claimed ?? 0);
        this.set({ ...labels, state: 'other' }, Math.max(0, (s.replicas ?? 0) - (s.ready ?? 0) - (s.claimed ?? 0)));
      }
    },
  });
  const claimsTotal = new Counter({ name: 'berth_claims_total', help: 'Claims by pool and outcome', labelNames: ['pool', 'outcome'], registers: [registry] });
  const claimWait = new Histogram({
    name: 'berth_claim_wait_seconds',
    help: 'Time from a claim being made to it being bound',
    labelNames: ['pool'],
    buckets: [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const bound = new Map<string, { total: number; warm: number }>();
  new Gauge({
    name: 'berth_claim_warm_hit_ratio',
    help: 'Share of bound claims served at once by a warm member',
    labelNames: ['pool'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [pool, b] of bound) this.set({ pool }, b.total ? b.warm / b.total : 0);
    },
  });
  const claims: ClaimMetrics = {
    bound(pool, waitSeconds, warm) {
      claimWait.observe({ pool }, waitSeconds);
      const b = bound.get(pool) ?? { total: 0, warm: 0 };
      b.total++;
      if (warm) b.warm++;
      bound.set(pool, b);
    },
    outcome(pool, outcome) {
      claimsTotal.inc({ pool, outcome });
    },
  };
  return { registry, claims, reconcileTotal, reconcileErrors, reconcileTime, runtimeOp, sourceDegraded };
}
