// The raw engine: the same create bodies berth would send, created and started
// straight through dockerode with a concurrency limit, no controller at all.
// This is the floor an orchestrator on this engine can approach.
import { randomBytes } from 'node:crypto';
import { call, docker, engineTimeMs, mapLimit, removeContainers, T, until, withSignal } from './engine.js';
import { rawCreateBody, type WorkloadOptions } from './workload.js';

export interface KillSample {
  /** Replacement running (engine StartedAt) minus the death (engine FinishedAt of the killed run). */
  ms: number;
  /** Replacement StartedAt minus the moment the bench issued the kill. */
  fromCallMs: number;
  /** When the bench's poll first saw it running, minus the moment of the kill call. */
  observedMs: number;
}

export class RawEngine {
  /** The managed-by value of the raw containers (berth's label key, a value no controller uses). */
  readonly managedBy = `berth-bench-raw-${randomBytes(4).toString('hex')}`;
  private seq = 0;
  /** Containers currently up, by index. */
  ids: string[] = [];
  /** Latency of each engine call, by operation, since the last resetOps(). */
  opMs: Record<string, number[]> = {};
  created = 0;

  constructor(private readonly workload: Omit<WorkloadOptions, 'config'>) {}

  resetOps(): void {
    this.opMs = {};
  }

  private async timed<R>(op: string, fn: () => Promise<R>): Promise<R> {
    const t0 = performance.now();
    const r = await fn();
    (this.opMs[op] ??= []).push(performance.now() - t0);
    return r;
  }

  private async createAndStart(i: number, config: string, gen: number): Promise<string> {
    const body = rawCreateBody(i, { ...this.workload, config }, this.managedBy, `${this.managedBy}-g${gen}-${i}`);
    const c = await this.timed('create', () => call('create', (s) => docker.createContainer(withSignal(body, s)), T.create));
    this.created++;
    await this.timed('start', () => call('start', (s) => c.start(withSignal({}, s)), T.start));
    return c.id;
  }

  /** N creates + starts at `parallelism`; seconds until every start has returned (the engine reports them running). */
  async converge(n: number, config: string, parallelism: number): Promise<number> {
    const gen = this.seq++;
    const t0 = performance.now();
    this.ids = await mapLimit(Array.from({ length: n }, (_, i) => i), parallelism, (i) => this.createAndStart(i, config, gen));
    return (performance.now() - t0) / 1000;
  }

  /**
   * Replace all N with new containers (new env), at `parallelism`. Seconds.
   * pipelined (default): per container, create + start the new one, then
   * force-remove its old one, `parallelism` chains at once (the order berth
   * uses per Instance; measured faster here than the phased form).
   * phased: create + start all N new, then force-remove all N old.
   */
  async replace(n: number, config: string, parallelism: number, mode: 'pipelined' | 'phased' = 'pipelined'): Promise<number> {
    const gen = this.seq++;
    const old = this.ids;
    const t0 = performance.now();
    let fresh: string[];
    if (mode === 'phased') {
      fresh = await mapLimit(Array.from({ length: n }, (_, i) => i), parallelism, (i) => this.createAndStart(i, config, gen));
      await this.timed('remove (all old)', () => removeContainers(old, parallelism));
    } else {
      fresh = await mapLimit(Array.from({ length: n }, (_, i) => i), parallelism, async (i) => {
        const id = await this.createAndStart(i, config, gen);
        const previous = old[i];
        if (previous) await this.timed('remove', () => removeContainers([previous], 1));
        return id;
      });
    }
    const seconds = (performance.now() - t0) / 1000;
    this.ids = fresh;
    return seconds;
  }

  /** Removes every container this raw run made (all carry its managed-by value). */
  async removeAll(parallelism = 8): Promise<void> {
    await removeContainers(this.ids, parallelism);
    this.ids = [];
  }

  /**
   * The raw engine's own answer to a dying container: restart policy `always`
   * (the engine restarts the same container, as berth does), switched on for
   * the sampled container with an update, so no container is created for
   * this. An API kill counts as a manual stop to the engine (it never restarts
   * after one), so the container is made to crash from inside instead: its
   * sleep is SIGKILLed through an exec and the shell exits with 137.
   * Figure: replacement StartedAt - FinishedAt of the death, both the engine's.
   */
  async killSample(i: number, timeoutMs: number): Promise<KillSample> {
    const id = this.ids[i];
    if (!id) throw new Error(`raw container ${i} does not exist`);
    const container = docker.getContainer(id);
    await call('update', (s) => container.update(withSignal({ RestartPolicy: { Name: 'always', MaximumRetryCount: 0 } }, s)));
    const before = await call('inspect', (s) => container.inspect(withSignal({}, s)));
    const killedAt = Date.now();
    const exec = await call('exec create', (s) => container.exec(withSignal({ Cmd: ['sh', '-c', 'kill -KILL $(pidof sleep)'], AttachStdout: false, AttachStderr: false }, s)));
    await call('exec start', (s) => exec.start(withSignal({ Detach: true }, s)));
    const after = await until(`raw container ${i} to run again after a crash`, timeoutMs, 20, async () => {
      const st = await call('inspect', (s) => container.inspect(withSignal({}, s)));
      return st.State.Running && st.State.StartedAt !== before.State.StartedAt ? st : undefined;
    });
    const observedMs = Date.now() - killedAt;
    return { ms: engineTimeMs(after.State.StartedAt) - engineTimeMs(after.State.FinishedAt), fromCallMs: engineTimeMs(after.State.StartedAt) - killedAt, observedMs };
  }
}
