// The controller's pieces wired on the in-memory runtime and a FakeClock, as
// the Manager wires them, for unit tests of the reconcilers and the
// supervisor: nothing sleeps; time moves when a test advances the clock.
// claimBinderWorld wires the ClaimBinder alone, on member views a test sets.
import { FakeClock, flushMicrotasks } from '../time/clock.js';
import { EventRecorder } from './event-recorder.js';
import { RestartMemoryStore } from '../state/restart-memory-store.js';
import { ResourceStore } from './resource-store.js';
import { Semaphore } from './semaphore.js';
import { Supervisor, type ActorView } from '../lifecycle/supervisor.js';
import { ClaimBinder } from './claim-binder.js';
import type { Origin } from './resource-store.js';
import { ClaimState } from '../state/claim-state.js';
import { MemoryRuntime } from '../runtime/memory/memory-runtime.js';
import { DEFAULT_POLICY } from '../spec/policy.js';
import { InstanceClaimSchema, InstancePoolSchema, InstanceSchema, type Resource, type ResourceKey } from '../spec/schema.js';

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
  /** Runtime operations as the metrics see them: one per engine step. */
  const ops: Array<{ op: string; result: 'success' | 'error' }> = [];
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
    observeOp: (op, result) => ops.push({ op, result }),
    ...(opts.maxAttempts ? { maxAttempts: opts.maxAttempts } : {}),
    ...(opts.probeWanted ? { probeWanted: opts.probeWanted } : {}),
  });
  const signal = new AbortController().signal;
  /** Lets actors and event deliveries run (no time passes). */
  const settle = async (): Promise<void> => {
    for (let i = 0; i < 5; i++) await flushMicrotasks();
  };
  const reasons = (name: string): string[] => recorder.list({ name }).map((e) => e.reason);
  return { clock, runtime, store, recorder, memory, supervisor, transitions, failed, ops, signal, settle, reasons, policy: DEFAULT_POLICY, controllerId: CONTROLLER_ID };
}

export function instance(name: string, spec: Record<string, unknown> = {}, namespace = 'default'): Resource {
  return InstanceSchema.parse({ apiVersion: 'berth.dev/v1alpha1', kind: 'Instance', metadata: { name, namespace }, spec: { image: 'berth-test/busybox:1', ...spec } });
}

export function pool(name: string, spec: Record<string, unknown>, namespace = 'default'): Resource {
  return InstancePoolSchema.parse({ apiVersion: 'berth.dev/v1alpha1', kind: 'InstancePool', metadata: { name, namespace }, spec: { template: { image: 'berth-test/busybox:1' }, ...spec } });
}

export function claim(name: string, poolName: string, namespace = 'default'): Resource {
  return InstanceClaimSchema.parse({ apiVersion: 'berth.dev/v1alpha1', kind: 'InstanceClaim', metadata: { name, namespace }, spec: { poolRef: { name: poolName } } });
}

export const keyOfInstance = (name: string, namespace = 'default'): ResourceKey => ({ kind: 'Instance', namespace, name });
export const keyOfPool = (name: string, namespace = 'default'): ResourceKey => ({ kind: 'InstancePool', namespace, name });
export const keyOfClaim = (name: string, namespace = 'default'): ResourceKey => ({ kind: 'InstanceClaim', namespace, name });

/**
 * A ClaimBinder on a store and a FakeClock, as the Manager wires it, with
 * the members of pool `runners` (namespace `sb`) as views the test sets in
 * `members` instead of actors: what the binder tells the outside (pool
 * wakes, released claims, claim labels) is recorded for the test to read.
 */
export function claimBinderWorld(opts: { origin?: Origin } = {}) {
  const origin = opts.origin ?? API;
  const namespace = 'sb';
  const clock = new FakeClock(TEST_NOW);
  const store = new ResourceStore(clock);
  const state = new ClaimState(undefined);
  const members: ActorView[] = [];
  const woken: string[] = [];
  /** Claims woken, with the delay: `name@ms`. */
  const wokenClaims: string[] = [];
  const released: string[] = [];
  const labels: Array<[string, string | undefined]> = [];
  const binder = new ClaimBinder({
    store,
    state,
    recorder: new EventRecorder(100, clock),
    clock,
    members: () => members,
    wakePool: (p) => woken.push(p.name),
    wakeClaim: (c, afterMs) => void wokenClaims.push(`${c.name}@${afterMs}`),
    onReleased: (k) => released.push(k.name),
    labelMember: (id, value) => labels.push([id, value]),
  });
  store.apply(pool('runners', { minReady: 1, claimTimeoutSeconds: 30 }, namespace), origin);
  /** Stores a claim on `runners`; the caller hands it to the binder as its mode does. */
  const applyClaim = (name: string): ResourceKey => {
    store.apply(claim(name, 'runners', namespace), origin);
    return keyOfClaim(name, namespace);
  };
  /** A ready, unclaimed member view of `runners` (container id `cid-<id>`), unless `over` says otherwise. */
  const member = (id: string, over: Partial<ActorView> = {}): ActorView => ({ containerId: `cid-${id}`, labels: { 'berth.dev/member': id }, createdAt: TEST_NOW - 1000, ports: [], phase: 'Ready', ready: true, terminating: false, ...over });
  const status = (name: string) => store.get(keyOfClaim(name, namespace))?.object.status as { phase?: string; instance?: string; containerId?: string } | undefined;
  return { clock, store, state, binder, members, woken, wokenClaims, released, labels, origin, pool: keyOfPool('runners', namespace), applyClaim, member, status, claimKey: (name: string) => keyOfClaim(name, namespace) };
}
