// The controller's pieces wired on the in-memory runtime and a FakeClock, as
// the Manager wires them, for unit tests of the reconcilers and the
// supervisor: nothing sleeps; time moves when a test advances the clock.
import { FakeClock, flushMicrotasks } from '../time/clock.js';
import { EventRecorder } from './event-recorder.js';
import { RestartMemoryStore } from '../state/restart-memory-store.js';
import { ResourceStore } from './resource-store.js';
import { Semaphore } from './semaphore.js';
import { Supervisor } from '../lifecycle/supervisor.js';
import { MemoryRuntime } from '../runtime/memory/memory-runtime.js';
import { DEFAULT_POLICY } from '../spec/policy.js';
import { InstancePoolSchema, InstanceSchema, type Resource, type ResourceKey } from '../spec/schema.js';

export const TEST_NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
export const CONTROLLER_ID = 'berth-unit';
export const API = { source: 'api' } as const;

export interface MemoryWorldOptions {
  maxAttempts?: number;
  /** Also told of every lifecycle transition (the Manager routes these to the binder and the queue). */
  onTransition?: (owner: ResourceKey, phase: string) => void;
  probeWanted?: (owner: ResourceKey, labels: Record<string, string>) => boolean;
}

export function memoryWorld(opts: MemoryWorldOptions = {}) {
  const clock = new FakeClock(TEST_NOW);
  const runtime = new MemoryRuntime({ clock });
  const store = new ResourceStore(clock);
  const recorder = new EventRecorder(1000, clock);
  const memory = new RestartMemoryStore(undefined);
  const transitions: Array<{ owner: string; phase: string }> = [];
  const failed: string[] = [];
  const limiter = new Semaphore(8);
  const supervisor = new Supervisor({
    runtime,
    clock,
    limiter: { run: (fn, signal) => limiter.run(fn, signal) },
    onTransition: (owner, phase) => {
      transitions.push({ owner: owner.name, phase });
      opts.onTransition?.(owner, phase);
    },
    onFailed: (owner) => failed.push(owner.name),
    ...(opts.maxAttempts ? { maxAttempts: opts.maxAttempts } : {}),
    ...(opts.probeWanted ? { probeWanted: opts.probeWanted } : {}),
  });
  const signal = new AbortController().signal;
  /** Lets actors and event deliveries run (no time passes). */
  const settle = async (): Promise<void> => {
    for (let i = 0; i < 5; i++) await flushMicrotasks();
  };
  const reasons = (name: string): string[] => recorder.list({ name }).map((e) => e.reason);
  return { clock, runtime, store, recorder, memory, supervisor, transitions, failed, signal, settle, reasons, policy: DEFAULT_POLICY, controllerId: CONTROLLER_ID };
}

export function instance(name: string, spec: Record<string, unknown> = {}, namespace = 'default'): Resource {
  return InstanceSchema.parse({ apiVersion: 'berth.dev/v1alpha1', kind: 'Instance', metadata: { name, namespace }, spec: { image: 'berth-test/busybox:1', ...spec } });
}

export function pool(name: string, spec: Record<string, unknown>, namespace = 'default'): Resource {
  return InstancePoolSchema.parse({ apiVersion: 'berth.dev/v1alpha1', kind: 'InstancePool', metadata: { name, namespace }, spec: { template: { image: 'berth-test/busybox:1' }, ...spec } });
}

export const keyOfInstance = (name: string, namespace = 'default'): ResourceKey => ({ kind: 'Instance', namespace, name });
export const keyOfPool = (name: string, namespace = 'default'): ResourceKey => ({ kind: 'InstancePool', namespace, name });
