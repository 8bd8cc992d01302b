// One actor per managed container. The machine holds the container's lifecycle
// state and drives runtime operations as invoked actors (each with an
// AbortSignal that fires when the state is left). The runtime's compound
// operations report their engine steps, so a launch passes through creating
// and starting, and a retirement through stopping and removing, as phases. Transient engine failures
// are retried here with exponential backoff and jitter; anything else, or too
// many attempts, parks the actor in `failed` and the controller's worker loop
// takes over (one retry policy for decisions, this one for a single operation).
import { assign, fromCallback, fromPromise, setup } from 'xstate';
import type { HealthCheck } from './probe.js';
import type { ContainerState, CreateRequest } from '../runtime/types.js';
import { isRuntimeError } from '../runtime/errors.js';

export type Operation = 'create' | 'start' | 'stop' | 'remove';
export type Target = 'running' | 'stopped' | 'removed';

export interface LifecycleInput {
  containerId?: string;
  /** Set for a container that does not exist yet. */
  request?: CreateRequest;
  /** What the runtime reports, for rehydrating an actor after a controller restart. */
  observedState?: ContainerState;
  exitCode?: number;
  health?: HealthCheck;
  graceSeconds: number;
  maxAttempts?: number;
}

export interface LifecycleContext {
  containerId?: string;
  request?: CreateRequest;
  observedState?: ContainerState;
  exitCode?: number;
  health?: HealthCheck;
  graceSeconds: number;
  /** The grace the retirement under way gives: 0 for a container known not to run. */
  retireGraceSeconds: number;
  target: Target;
  attempt: number;
  maxAttempts: number;
  failedOp?: Operation;
  lastError?: Error;
  /** True once retries are exhausted: waiters get the error. */
  gaveUp: boolean;
  /** The next probe runs at once (a Reuse recycle re-probes a member that has been running for a while). */
  probeNow?: boolean;
  /**
   * How many times the container became ready. A REPROBE of a container
   * without a probe leaves running and comes back to ready in one step, the
   * same state value as before: this count is what shows subscribers that it
   * became ready again (a new ready-since, claims waiting for it).
   */
  readyEntries: number;
  probe: { successes: number; failures: number; last?: { ok: boolean; message: string; time: number } };
}

export type LifecycleEvent =
  | { type: 'START' }
  | { type: 'STOP' }
  /** graceSeconds: how long the container may take to stop (default: the actor's own). */
  | { type: 'REMOVE'; graceSeconds?: number }
  /** Probe again from scratch, now: the member must pass before it serves again. */
  | { type: 'REPROBE' }
  | { type: 'OBSERVED'; state: ContainerState; exitCode?: number }
  | { type: 'PROBE'; ok: boolean; message: string; time: number }
  // From the launch actor (Runtime.launch): the container exists (before it runs), runs, or the launch failed in a step.
  | { type: 'launch.created'; containerId: string }
  | { type: 'launch.done' }
  | { type: 'launch.failed'; step: 'create' | 'start'; error: unknown }
  // From the retire actor (Runtime.retire): the step it began, its end, or the step that failed.
  | { type: 'retire.step'; step: 'stop' | 'remove' }
  | { type: 'retire.done' }
  | { type: 'retire.failed'; step: 'stop' | 'remove'; error: unknown };

export interface LaunchInput {
  request: CreateRequest;
}

export interface RetireInput {
  containerId: string;
  graceSeconds: number;
}

export interface ProbeInput {
  containerId: string;
  health: HealthCheck;
  /** Run the first probe at once instead of after initialDelaySeconds. */
  now?: boolean;
}

const TRANSIENT = (e: unknown): boolean => isRuntimeError(e, 'Unavailable') || isRuntimeError(e, 'Timeout');

/** Exponential backoff with full jitter: 200 ms, 400 ms, ... capped at 10 s. */
export const retryDelayMs = (attempt: number): number => {
  const ceiling = Math.min(10_000, 200 * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
};

const asError = (e: unknown): Error => (e instanceof Error ? e : new Error(String(e)));

export const lifecycleMachine = setup({
  types: {
    context: {} as LifecycleContext,
    events: {} as LifecycleEvent,
    input: {} as LifecycleInput,
  },
  actors: {
    // Replaced through machine.provide() by the supervisor (and by tests).
    // launch and retire report their steps as events (LaunchInput, RetireInput); relaunch and halt are one step.
    launchMember: fromCallback<LifecycleEvent, LaunchInput>(({ sendBack }) => sendBack({ type: 'launch.failed', step: 'create', error: new Error('launchMember not provided') })),
    relaunchMember: fromPromise<void, { containerId: string }>(async () => {
      throw new Error('relaunchMember not provided');
    }),
    haltMember: fromPromise<void, { containerId: string; graceSeconds: number }>(async () => {
      throw new Error('haltMember not provided');
    }),
    retireMember: fromCallback<LifecycleEvent, RetireInput>(({ sendBack }) => sendBack({ type: 'retire.failed', step: 'remove', error: new Error('retireMember not provided') })),
    prober: fromCallback<LifecycleEvent, ProbeInput>(() => () => undefined),
  },
  guards: {
    hasRequest: ({ context }) => context.request !== undefined && context.containerId === undefined,
    observedRunning: ({ context }) => context.observedState === 'running' || context.observedState === 'restarting' || context.observedState === 'paused',
    observedCreated: ({ context }) => context.observedState === 'created',
    observedGone: ({ context }) => context.observedState === 'removing',
    hasHealth: ({ context }) => context.health !== undefined,
    targetRemoved: ({ context }) => context.target === 'removed',
    targetRunning: ({ context }) => context.target === 'running',
    canRetry: ({ context }) => !context.gaveUp && context.attempt < context.maxAttempts,
    // A started container never shows `created` again: a list that says so was taken before the start returned.
    eventExited: ({ event }) => event.type === 'OBSERVED' && event.state !== 'running' && event.state !== 'restarting' && event.state !== 'paused' && event.state !== 'created',
    eventRunning: ({ event }) => event.type === 'OBSERVED' && (event.state === 'running' || event.state === 'restarting'),
    probeReachedSuccess: ({ context, event }) => event.type === 'PROBE' && event.ok && context.probe.successes + 1 >= (context.health?.successThreshold ?? 1),
    probeReachedFailure: ({ context, event }) => event.type === 'PROBE' && !event.ok && context.probe.failures + 1 >= (context.health?.failureThreshold ?? 3),
  },
  delays: {
    retryBackoff: ({ context }) => retryDelayMs(context.attempt),
  },
  actions: {
    recordProbe: assign(({ context, event }) => {
      if (event.type !== 'PROBE') return {};
      const probe = event.ok
        ? { successes: context.probe.successes + 1, failures: 0 }
        : { successes: 0, failures: context.probe.failures + 1 };
      return { probe: { ...probe, last: { ok: event.ok, message: event.message, time: event.time } } };
    }),
    resetProbe: assign({ probe: () => ({ successes: 0, failures: 0 }) }),
    countReady: assign({ readyEntries: ({ context }) => context.readyEntries + 1 }),
    recordObserved: assign(({ event }) => (event.type === 'OBSERVED' ? { observedState: event.state, exitCode: event.exitCode } : {})),
    resetAttempts: assign({ attempt: 0, gaveUp: false, lastError: undefined }),
    setGrace: assign(({ context, event }) => (event.type === 'REMOVE' && event.graceSeconds !== undefined ? { graceSeconds: event.graceSeconds } : { graceSeconds: context.graceSeconds })),
    // A container that may run is given its grace; one known not to run (halted, never started) is removed at once.
    retireWithGrace: assign({ retireGraceSeconds: ({ context }) => context.graceSeconds }),
    retireAtOnce: assign({ retireGraceSeconds: 0 }),
  },
}).createMachine({
  id: 'container',
  context: ({ input }) => ({
    containerId: input.containerId,
    request: input.request,
    observedState: input.observedState,
    exitCode: input.exitCode,
    health: input.health,
    graceSeconds: input.graceSeconds,
    retireGraceSeconds: input.graceSeconds,
    target: 'running',
    attempt: 0,
    maxAttempts: input.maxAttempts ?? 4,
    gaveUp: false,
    probe: { successes: 0, failures: 0 },
    readyEntries: 0,
  }),
  initial: 'init',
  on: {
    REMOVE: [
      // Whether a stop comes first is the runtime's call (Runtime.retire): a forced remove on Docker, a stop then a delete for a Pod.
      { guard: ({ context }) => context.containerId !== undefined, target: '.retiring', actions: [assign({ target: 'removed' }), 'setGrace', 'retireWithGrace', 'resetAttempts'] },
      // Not created yet: the create finishes (it cannot be taken back mid-call), then `created` removes it without starting it.
      { actions: [assign({ target: 'removed' }), 'setGrace'] },
    ],
  },
  states: {
    // Rehydration: an actor for an existing container starts in the state the runtime reports.
    init: {
      always: [
        { guard: 'hasRequest', target: 'pending' },
        { guard: 'observedRunning', target: 'running' },
        { guard: 'observedCreated', target: 'created', actions: assign({ target: 'stopped' }) },
        { target: 'stopped', actions: assign({ target: 'stopped' }) },
      ],
    },
    pending: { always: 'launching' },
    // One launch call (create, then start), seen as its two phases: creating until the container exists, starting until it runs.
    launching: {
      initial: 'creating',
      invoke: { src: 'launchMember', input: ({ context }) => ({ request: context.request! }) },
      on: {
        'launch.created': [
          // Removed while it was being created: leaving this state aborts the launch before its start.
          { guard: 'targetRemoved', target: 'created', actions: [assign({ containerId: ({ event }) => event.containerId }), 'resetAttempts'] },
          { target: '.starting', actions: [assign({ containerId: ({ event }) => event.containerId }), 'resetAttempts'] },
        ],
        'launch.done': { target: 'running', actions: ['resetAttempts', assign({ exitCode: undefined, observedState: 'running', probeNow: false })] },
        'launch.failed': { target: 'failed', actions: assign(({ context, event }) => failure(context, event.step, event.error)) },
      },
      states: { creating: {}, starting: {} },
    },
    created: {
      always: [
        { guard: 'targetRunning', target: 'starting' },
        { guard: 'targetRemoved', target: 'retiring', actions: 'retireAtOnce' },
      ],
      on: { START: { target: 'starting', actions: [assign({ target: 'running' }), 'resetAttempts'] } },
    },
    // Runs again a container that exists (created, stopped, failed to start).
    starting: {
      invoke: {
        src: 'relaunchMember',
        input: ({ context }) => ({ containerId: context.containerId! }),
        onDone: { target: 'running', actions: ['resetAttempts', assign({ exitCode: undefined, observedState: 'running', probeNow: false })] },
        onError: { target: 'failed', actions: assign(({ context, event }) => failure(context, 'start', event.error)) },
      },
    },
    running: {
      entry: 'resetProbe',
      initial: 'probing',
      invoke: {
        src: 'prober',
        input: ({ context }) => ({ containerId: context.containerId!, health: context.health!, ...(context.probeNow ? { now: true } : {}) }),
      },
      on: {
        STOP: { target: 'stopping', actions: [assign({ target: 'stopped' }), 'resetAttempts'] },
        REPROBE: { target: 'running', reenter: true, actions: assign({ probeNow: true }) },
        OBSERVED: { guard: 'eventExited', target: 'stopped', actions: 'recordObserved' },
        START: {},
      },
      states: {
        probing: {
          always: { guard: ({ context }) => context.health === undefined, target: 'ready' },
          on: {
            PROBE: [
              { guard: 'probeReachedSuccess', target: 'ready', actions: 'recordProbe' },
              { guard: 'probeReachedFailure', target: 'unhealthy', actions: 'recordProbe' },
              { actions: 'recordProbe' },
            ],
          },
        },
        ready: {
          entry: 'countReady',
          on: {
            PROBE: [{ guard: 'probeReachedFailure', target: 'unhealthy', actions: 'recordProbe' }, { actions: 'recordProbe' }],
          },
        },
        unhealthy: {
          on: {
            PROBE: [{ guard: 'probeReachedSuccess', target: 'ready', actions: 'recordProbe' }, { actions: 'recordProbe' }],
          },
        },
      },
    },
    // Halts the container and keeps it.
    stopping: {
      on: { REMOVE: { actions: assign({ target: 'removed' }) }, REPROBE: {} },
      invoke: {
        src: 'haltMember',
        input: ({ context }) => ({ containerId: context.containerId!, graceSeconds: context.graceSeconds }),
        onDone: [
          { guard: 'targetRemoved', target: 'retiring', actions: ['resetAttempts', 'retireAtOnce'] },
          { target: 'stopped', actions: ['resetAttempts', assign({ observedState: 'exited' })] },
        ],
        onError: { target: 'failed', actions: assign(({ context, event }) => failure(context, 'stop', event.error)) },
      },
    },
    stopped: {
      always: { guard: 'targetRemoved', target: 'retiring', actions: 'retireAtOnce' },
      on: {
        START: { target: 'starting', actions: [assign({ target: 'running' }), 'resetAttempts'] },
        STOP: {},
        OBSERVED: { guard: 'eventRunning', target: 'running', actions: 'recordObserved' },
      },
    },
    // One retire call (a stop where the runtime needs one, then the removal), seen as its phases stopping and removing.
    retiring: {
      initial: 'entering',
      invoke: { src: 'retireMember', input: ({ context }) => ({ containerId: context.containerId!, graceSeconds: context.retireGraceSeconds }) },
      on: {
        REMOVE: {},
        REPROBE: {},
        'retire.step': [{ guard: ({ event }) => event.step === 'stop', target: '.stopping' }, { target: '.removing' }],
        'retire.done': 'removed',
        'retire.failed': { target: 'failed', actions: assign(({ context, event }) => failure(context, event.step, event.error)) },
      },
      states: {
        // Until the runtime names its first step: with grace to give it most likely stops first.
        entering: { always: [{ guard: ({ context }) => context.retireGraceSeconds > 0, target: 'stopping' }, { target: 'removing' }] },
        stopping: {},
        removing: {},
      },
    },
    removed: { type: 'final' },
    failed: {
      after: {
        retryBackoff: [
          { guard: ({ context }) => !context.gaveUp && context.failedOp === 'create', target: 'launching' },
          { guard: ({ context }) => !context.gaveUp && context.failedOp === 'start', target: 'starting' },
          // A retirement that failed stopping is retried whole, with its grace; one that failed removing removes at once.
          { guard: ({ context }) => !context.gaveUp && context.failedOp === 'stop' && context.target === 'removed', target: 'retiring' },
          { guard: ({ context }) => !context.gaveUp && context.failedOp === 'stop', target: 'stopping' },
          { guard: ({ context }) => !context.gaveUp && context.failedOp === 'remove', target: 'retiring', actions: 'retireAtOnce' },
        ],
      },
      on: {
        // A new command from the controller is a fresh start for the retry budget.
        START: [
          { guard: ({ context }) => context.containerId === undefined, target: 'launching', actions: [assign({ target: 'running' }), 'resetAttempts'] },
          { target: 'starting', actions: [assign({ target: 'running' }), 'resetAttempts'] },
        ],
        STOP: { guard: ({ context }) => context.containerId !== undefined, target: 'stopping', actions: [assign({ target: 'stopped' }), 'resetAttempts'] },
        OBSERVED: [
          { guard: 'eventRunning', target: 'running', actions: ['recordObserved', 'resetAttempts'] },
        ],
      },
    },
  },
});

function failure(context: LifecycleContext, op: Operation, error: unknown): Partial<LifecycleContext> {
  const attempt = context.attempt + 1;
  const gaveUp = !TRANSIENT(error) || attempt >= context.maxAttempts;
  return { attempt, failedOp: op, lastError: asError(error), gaveUp };
}
