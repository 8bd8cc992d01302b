// The behaviours every Runtime shows that the controller relies on, as one
// vitest suite run against each implementation: the in-memory runtime (a unit
// test beside it), the Docker engine and Kubernetes Pods (integration tests in
// test/runtime-contract-*.test.ts). Where the memory runtime and a real one
// differ, the memory runtime is fixed, not this suite. The deeper engine-only
// checks (signals, stdin, archives, logs, images) stay in
// test/support/runtime-contract.ts.
//
// Lives under src/ so unit tests can import it; *.testkit.ts is left out of
// the build (tsconfig.build.json).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContainerTemplateSchema, type Kind } from '../spec/schema.js';
import { effectiveTemplate } from '../spec/policy.js';
import { configHash, encodeFieldDigests, HASH_VERSION } from '../spec/hash.js';
import { isRuntimeError } from './errors.js';
import { LABEL, type CreateRequest, type ObservedContainer, type OperationStep, type Runtime, type RuntimeEvent } from './types.js';

export interface ContractSubject {
  runtime: Runtime;
  /** The managed-by value of this run; cleanup removes what carries it. */
  controllerId: string;
  cleanup: () => Promise<void>;
  /** An image with busybox (sh, echo, sleep). */
  image: string;
  /**
   * Lets time pass while the suite waits for something (a process to exit, an
   * event): a fake clock advances here. Default: 100 ms of real time.
   */
  tick?: () => Promise<void>;
}

/**
 * What a runtime emulates by its nature, each documented at the runtime; the
 * defaults are the Docker engine's.
 */
export interface RuntimeContractOptions {
  /** Skip the whole suite (no engine or cluster here). */
  skip?: boolean;
  /** A created member runs without its start step (a Pod runs as soon as it can). Default false. */
  createStarts?: boolean;
  /** promote frees the old name and refuses a taken one (Pods keep their name: berth's is an annotation). Default true. */
  promoteFreesName?: boolean;
}

export interface RequestOptions {
  kind?: Kind;
  member?: string;
  createdAt?: number;
  namespace?: string;
}

/** A create request as the controller builds it: effective template, hash labels, identity labels. */
export function contractRequest(controllerId: string, owner: string, template: Record<string, unknown>, opts: RequestOptions = {}): CreateRequest {
  const t = effectiveTemplate(ContainerTemplateSchema.parse(template));
  const hash = configHash(t);
  const labels: Record<string, string> = {
    [LABEL.managedBy]: controllerId,
    [LABEL.kind]: opts.kind ?? 'Instance',
    [LABEL.namespace]: opts.namespace ?? 'default',
    [LABEL.name]: owner,
    [LABEL.configHash]: hash.hash,
    [LABEL.hashVersion]: HASH_VERSION,
    [LABEL.configFields]: encodeFieldDigests(hash.fields),
    [LABEL.createdAt]: String(opts.createdAt ?? Date.now()),
  };
  if (opts.member) labels[LABEL.member] = opts.member;
  return { name: `${controllerId}-${owner}${opts.member ? `-${opts.member}` : ''}`, template: t, labels };
}

const CREATE_ONLY = new Error('created only: the test refuses the start');

/**
 * A member created and not started, as the controller meets one after a
 * crash between the two steps: a launch whose start step is refused. (On
 * Kubernetes the Pod runs anyway: a Pod runs once it exists.)
 */
export async function createOnly(runtime: Runtime, req: CreateRequest): Promise<string> {
  let id: string | undefined;
  await runtime
    .launch(req, undefined, (step) => {
      if (step.name !== 'start') return;
      id = step.memberId;
      throw CREATE_ONLY;
    })
    .catch((e: unknown) => {
      if (e !== CREATE_ONLY) throw e;
    });
  if (id === undefined) throw new Error(`launch of ${req.name} never announced its start`);
  return id;
}

const byId = (list: ObservedContainer[], id: string): ObservedContainer | undefined => list.find((c) => c.id === id);

// A process that ends promptly on SIGTERM (exit 0), so stop does not wait out the grace period.
const SERVE = ['sh', '-c', 'trap "exit 0" TERM; while :; do sleep 1 & wait $!; done'];

export function describeRuntimeContract(name: string, setup: () => Promise<ContractSubject>, options: RuntimeContractOptions = {}): void {
  const caps = { createStarts: false, promoteFreesName: true, ...options };
  describe.skipIf(caps.skip === true)(`Runtime contract (core): ${name}`, () => {
    let subject: ContractSubject;
    let runtime: Runtime;
    let managedBy: string;
    let image: string;
    const ids: Record<'alpha' | 'beta' | 'crash', string> = { alpha: '', beta: '', crash: '' };
    const events: RuntimeEvent[] = [];
    const stopEvents = new AbortController();
    const createdAt = Date.UTC(2026, 0, 2, 3, 4, 5);

    /** Polls check, letting time pass in between (the subject's tick), up to about timeoutMs. */
    async function eventually<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000): Promise<T> {
      const tick = subject.tick ?? (() => new Promise<void>((r) => setTimeout(r, 100)));
      for (let waited = 0; ; waited += 100) {
        const v = await check();
        if (v !== undefined) return v;
        if (waited >= timeoutMs) throw new Error(`timed out waiting for ${what}`);
        await tick();
      }
    }
    const stateOf = async (id: string): Promise<ObservedContainer | undefined> => byId(await runtime.list({ managedBy }), id);

    beforeAll(async () => {
      subject = await setup();
      runtime = subject.runtime;
      managedBy = subject.controllerId;
      image = subject.image;
      runtime.events((e) => events.push(e), stopEvents.signal);
    });

    afterAll(async () => {
      stopEvents.abort();
      await subject?.cleanup();
    });

    it('launch: the member runs, and list by managed-by returns it with its labels and hash', async () => {
      ids.alpha = await runtime.launch(contractRequest(managedBy, 'alpha', { image, args: SERVE, stopGracePeriodSeconds: 5 }, { createdAt }));
      ids.beta = await runtime.launch(contractRequest(managedBy, 'beta', { image, args: SERVE }, { kind: 'InstancePool', member: 'm1' }));
      const listed = await runtime.list({ managedBy });
      expect(listed.map((c) => c.id).sort()).toEqual([ids.alpha, ids.beta].sort());
      const hash = configHash(effectiveTemplate(ContainerTemplateSchema.parse({ image, args: SERVE, stopGracePeriodSeconds: 5 })));
      expect(byId(listed, ids.alpha)).toMatchObject({
        name: `${managedBy}-alpha`,
        managedBy,
        kind: 'Instance',
        namespace: 'default',
        owner: 'alpha',
        configHash: hash.hash,
        hashVersion: HASH_VERSION,
        configFields: hash.fields,
        createdAt,
        hostPorts: [],
      });
      expect(byId(listed, ids.alpha)!.labels[LABEL.managedBy]).toBe(managedBy);
      expect(byId(listed, ids.alpha)!.member).toBeUndefined();
      expect(byId(listed, ids.beta)).toMatchObject({ kind: 'InstancePool', owner: 'beta', member: 'm1' });
      expect(listed.map((c) => c.state)).toEqual(['running', 'running']);
      const inspected = await runtime.inspect(ids.alpha);
      expect(inspected).toMatchObject({ id: ids.alpha, state: 'running', owner: 'alpha' });
      expect(inspected.startedAt).toEqual(expect.any(Number));
    });

    it('a launch under a taken name is Conflict', async () => {
      const err = await runtime.launch(contractRequest(managedBy, 'alpha', { image, args: SERVE })).catch((e: unknown) => e);
      expect(isRuntimeError(err, 'Conflict'), String(err)).toBe(true);
    });

    it('launch announces create, then start with the new id; a refused start ends the launch with the member created, and retire removes it', async () => {
      const steps: OperationStep[] = [];
      const refused = new Error('not now');
      const err = await runtime
        .launch(contractRequest(managedBy, 'held', { image, args: SERVE }), undefined, (step) => {
          steps.push(step);
          if (step.name === 'start') throw refused;
        })
        .catch((e: unknown) => e);
      expect(err).toBe(refused);
      expect(steps.map((s) => s.name)).toEqual(['create', 'start']);
      const id = (steps[1] as { memberId: string }).memberId;
      const held = await stateOf(id);
      expect(held).toMatchObject({ id, owner: 'held' });
      expect(caps.createStarts ? ['created', 'running'] : ['created']).toContain(held!.state);
      await runtime.retire(id, 0);
      await eventually('the refused member to be gone', async () => ((await stateOf(id)) ? undefined : true));
    });

    it('list filters by kind, namespace and name, and never returns another managed-by', async () => {
      const other = await runtime.launch(contractRequest(`${managedBy}-other`, 'alpha', { image, args: SERVE }));
      try {
        expect((await runtime.list({ managedBy })).map((c) => c.id).sort()).toEqual([ids.alpha, ids.beta].sort());
        expect((await runtime.list({ managedBy: `${managedBy}-other` })).map((c) => c.id)).toEqual([other]);
        expect((await runtime.list({ managedBy, name: 'beta' })).map((c) => c.id)).toEqual([ids.beta]);
        expect((await runtime.list({ managedBy, kind: 'InstancePool' })).map((c) => c.id)).toEqual([ids.beta]);
        expect(await runtime.list({ managedBy, namespace: 'elsewhere' })).toEqual([]);
      } finally {
        await runtime.retire(other, 0);
      }
    });

    it('relaunch of a running member is success', async () => {
      await runtime.relaunch(ids.alpha);
      expect(await stateOf(ids.alpha)).toMatchObject({ id: ids.alpha, state: 'running' });
    });

    it('exec returns stdout and the exit code', async () => {
      const echo = await runtime.exec(ids.alpha, { command: ['echo', 'hello', 'contract'], timeoutMs: 30_000 });
      expect(echo).toMatchObject({ exitCode: 0, stdout: 'hello contract\n', timedOut: false, truncated: false });
      expect(echo.durationMs).toBeGreaterThanOrEqual(0);
      expect((await runtime.exec(ids.alpha, { command: ['sh', '-c', 'exit 7'], timeoutMs: 30_000 })).exitCode).toBe(7);
      expect((await runtime.exec(ids.alpha, { command: ['true'], timeoutMs: 30_000 })).exitCode).toBe(0);
    });

    it('halt: the member exits and is kept under its id; halting it again is success', async () => {
      await runtime.halt(ids.beta, 5);
      const beta = await eventually('beta to exit', async () => {
        const c = await stateOf(ids.beta);
        return c?.state === 'exited' && c.exitCode !== undefined ? c : undefined;
      });
      expect(beta.exitCode).toEqual(expect.any(Number));
      expect(beta.finishedAt).toBeGreaterThanOrEqual(beta.startedAt!);
      await runtime.halt(ids.beta, 5);
    });

    it('exec in a member that is not running is refused', async () => {
      const err = await runtime.exec(ids.beta, { command: ['true'], timeoutMs: 30_000 }).catch((e: unknown) => e);
      expect(isRuntimeError(err), String(err)).toBe(true);
    });

    it('relaunch of a halted member runs it again under the same id', async () => {
      await runtime.relaunch(ids.beta);
      expect(await stateOf(ids.beta)).toMatchObject({ id: ids.beta, state: 'running', owner: 'beta', member: 'm1' });
      expect((await runtime.exec(ids.beta, { command: ['echo', 'again'], timeoutMs: 30_000 })).stdout).toBe('again\n');
    });

    it('a process that exits by itself is reported exited with its exit code', async () => {
      ids.crash = await runtime.launch(contractRequest(managedBy, 'crash', { image, args: ['sh', '-c', 'exit 3'] }), undefined, (step) => {
        if (step.name === 'start') ids.crash = step.memberId; // the launch may fail: the process can be gone before the start returns
      }).catch(() => ids.crash);
      const crash = await eventually('crash to exit', async () => {
        const c = await stateOf(ids.crash);
        return c?.state === 'exited' ? c : undefined;
      });
      expect(crash).toMatchObject({ exitCode: 3, oomKilled: false });
    });

    it('promote: list reports the new name under the same id', async () => {
      await runtime.promote(ids.crash, `${managedBy}-crash-renamed`);
      expect(await stateOf(ids.crash)).toMatchObject({ id: ids.crash, name: `${managedBy}-crash-renamed`, owner: 'crash' });
    });

    it.skipIf(!caps.promoteFreesName)('promote frees the old name and refuses a taken one', async () => {
      const again = await runtime.launch(contractRequest(managedBy, 'crash', { image, args: SERVE }));
      expect(again).not.toBe(ids.crash);
      const err = await runtime.promote(again, `${managedBy}-alpha`).catch((e: unknown) => e);
      expect(isRuntimeError(err, 'Conflict'), String(err)).toBe(true);
      await runtime.retire(again, 0);
    });

    it('retire: the member is gone (a running one stopped within its grace), inspect and halt are NotFound, retiring it again is success', async () => {
      await runtime.retire(ids.crash, 0);
      const steps: OperationStep['name'][] = [];
      await runtime.retire(ids.alpha, 5, undefined, (step) => void steps.push(step.name));
      // Whether a stop comes first is the runtime's; the removal is always the last step.
      expect(steps.at(-1)).toBe('remove');
      expect(steps.every((s) => s === 'stop' || s === 'remove')).toBe(true);
      const left = await eventually('retired members to leave the list', async () => {
        const l = await runtime.list({ managedBy });
        return l.some((c) => c.id === ids.alpha || c.id === ids.crash) ? undefined : l;
      });
      expect(left.map((c) => c.id)).toEqual([ids.beta]);
      for (const call of [() => runtime.inspect(ids.alpha), () => runtime.halt(ids.alpha, 1)]) {
        const err = await call().catch((e: unknown) => e);
        expect(isRuntimeError(err, 'NotFound'), String(err)).toBe(true);
      }
      await runtime.retire(ids.alpha, 5);
    });

    it('events: start, die and destroy of managed containers arrive with their labels', async () => {
      const seen = (action: string, id: string) => () => events.find((e) => e.action === action && e.containerId === id);
      const destroy = await eventually('destroy of alpha', seen('destroy', ids.alpha));
      expect(destroy.labels[LABEL.managedBy]).toBe(managedBy);
      expect(destroy.labels[LABEL.name]).toBe('alpha');
      await eventually('start of alpha', seen('start', ids.alpha));
      const die = await eventually('die of crash', seen('die', ids.crash));
      expect(die.labels[LABEL.name]).toBe('crash');
      expect(die.time).toEqual(expect.any(Number));
      await eventually('die of beta (stopped)', seen('die', ids.beta));
    });

    it('ping answers', async () => {
      await runtime.ping();
    });
  });
}
