// Prometheus metrics, names modelled on controller-runtime so existing
// dashboards and alerts read them: reconcile totals and durations, workqueue
// (see workqueue-metrics.ts), runtime operation latency, members by phase.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ResourceStore } from './resource-store.js';

export interface ControllerMetrics {
  registry: Registry;
  reconcileTotal: Counter<'controller' | 'result'>;
  reconcileErrors: Counter<'controller'>;
  reconcileTime: Histogram<'controller'>;
  runtimeOp: Histogram<'op' | 'result'>;
}

export function createMetrics(store: ResourceStore): ControllerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
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
  return { registry, reconcileTotal, reconcileErrors, reconcileTime, runtimeOp };
}
