// Docker Swarm as the peer orchestrator: a replicated service of the same
// workload (same image, command, env, grace period, limits). The image is
// given by its local ID (sha256:...), which the swarm executor never tries to
// pull (no registry is reachable here); no registry auth is sent.
import { call, docker, dockerInfo, engineInfo, engineTimeMs, listByLabel, RUN_LABEL, sleep, T, until, withSignal } from './engine.js';
import type { KillSample } from './raw.js';
import { COMMAND, CONFIG_VAR, GRACE_SECONDS, IMAGE } from './workload.js';

interface Task {
  ID: string;
  Slot?: number;
  DesiredState: string;
  Spec: { ContainerSpec?: { Env?: string[] } };
  Status: { State: string; ContainerStatus?: { ContainerID?: string } };
}

export type UpdateOrder = 'stop-first' | 'start-first';

/** Joins a swarm if the engine is in none (remembering that the bench did), or says why swarm cannot run. */
export class SwarmSession {
  initialisedByBench = false;
  imageId = '';

  async open(): Promise<void> {
    const info = await engineInfo();
    if (info.swarmState === 'inactive') {
      await call('swarm init', (s) => docker.swarmInit(withSignal({ ListenAddr: '127.0.0.1:2377', AdvertiseAddr: '127.0.0.1' }, s)), T.swarm);
      this.initialisedByBench = true;
    } else if (info.swarmState !== 'active') {
      throw new Error(`the engine's swarm state is "${info.swarmState}"`);
    }
    const raw = (await dockerInfo()) as { Swarm?: { ControlAvailable?: boolean } };
    if (!raw.Swarm?.ControlAvailable) throw new Error('this engine is a swarm worker, not a manager: it cannot create services');
    const image = await call('image inspect', (s) => docker.getImage(IMAGE).inspect(withSignal({}, s)));
    this.imageId = image.Id;
  }

  /** Leaves the swarm, only if this bench run created it. */
  async close(): Promise<void> {
    if (!this.initialisedByBench) return;
    await call('swarm leave', (s) => docker.swarmLeave(withSignal({ force: true }, s)), T.swarm);
    this.initialisedByBench = false;
  }
}

export class SwarmService {
  private id = '';
  private readonly name: string;
  /** Container IDs per slot as last seen running. */
  constructor(
    private readonly session: SwarmSession,
    private readonly runId: string,
    private readonly n: number,
    private readonly order: UpdateOrder,
  ) {
    this.name = `berth-bench-${runId}-${n}`;
  }

  private spec(config: string): Record<string, unknown> {
    return {
      Name: this.name,
      Labels: { [RUN_LABEL]: this.runId },
      TaskTemplate: {
        ContainerSpec: {
          Image: this.session.imageId,
          Command: COMMAND,
          Env: [`${CONFIG_VAR}=${config}`],
          Labels: { [RUN_LABEL]: this.runId },
          StopGracePeriod: GRACE_SECONDS * 1e9,
          CapabilityDrop: ['ALL'],
        },
        // berth's defaults: cpus 1, memory 1Gi, pids 512.
        Resources: { Limits: { NanoCPUs: 1e9, MemoryBytes: 1024 ** 3, Pids: 512 } },
        // Restart at once (the default delay is 5 s): the peer at its best.
        RestartPolicy: { Condition: 'any', Delay: 0, MaxAttempts: 0 },
      },
      Mode: { Replicated: { Replicas: this.n } },
      UpdateConfig: { Parallelism: 0, Delay: 0, FailureAction: 'pause', Monitor: 1e9, Order: this.order },
    };
  }

  private async tasks(): Promise<Task[]> {
    return (await call('task list', (s) => docker.listTasks(withSignal({ filters: { service: [this.name] } }, s)))) as Task[];
  }

  private static running(t: Task): boolean {
    return t.Status.State === 'running' && t.DesiredState === 'running';
  }

  /** service create -> N tasks running. Seconds. */
  async converge(config: string, timeoutMs: number): Promise<number> {
    const t0 = performance.now();
    const svc = await call('service create', (s) => docker.createService(withSignal(this.spec(config), s) as never), T.swarm);
    this.id = svc.id;
    await until(`${this.n} running tasks`, timeoutMs, 50, async () => ((await this.tasks()).filter(SwarmService.running).length === this.n ? true : undefined));
    return (performance.now() - t0) / 1000;
  }

  /** service update of the env -> N running tasks of the new spec and none of the old still running. Seconds. */
  async replace(config: string, timeoutMs: number): Promise<number> {
    const svc = docker.getService(this.id);
    const current = (await call('service inspect', (s) => svc.inspect(withSignal({}, s)))) as { Version: { Index: number } };
    const want = `${CONFIG_VAR}=${config}`;
    const t0 = performance.now();
    await call('service update', (s) => svc.update({ _query: { version: current.Version.Index }, _body: this.spec(config), abortSignal: s } as never), T.swarm);
    await until(`${this.n} running tasks of the new spec`, timeoutMs, 50, async () => {
      const tasks = await this.tasks();
      const isNew = (t: Task): boolean => (t.Spec.ContainerSpec?.Env ?? []).includes(want);
      const fresh = tasks.filter((t) => isNew(t) && SwarmService.running(t)).length;
      // Old tasks still running (desired shutdown but not yet stopped) also count against "converged".
      const stale = tasks.filter((t) => !isNew(t) && t.Status.State === 'running').length;
      return fresh === this.n && stale === 0 ? true : undefined;
    });
    return (performance.now() - t0) / 1000;
  }

  /** Kills one task's container; swarm starts a new task (a new container). Milliseconds to it running (engine StartedAt). */
  async killSample(timeoutMs: number): Promise<KillSample> {
    const tasks = (await this.tasks()).filter(SwarmService.running);
    const victim = tasks[0];
    const cid = victim?.Status.ContainerStatus?.ContainerID;
    if (!victim || !cid) throw new Error('no running task to kill');
    const known = new Set(tasks.map((t) => t.ID));
    const killedAt = Date.now();
    await call('kill', (s) => docker.getContainer(cid).kill(withSignal({ signal: 'SIGKILL' }, s)));
    const replacement = await until('a replacement task to run', timeoutMs, 20, async () => {
      const now = await this.tasks();
      const t = now.find((x) => !known.has(x.ID) && x.Slot === victim.Slot && SwarmService.running(x) && x.Status.ContainerStatus?.ContainerID);
      return t?.Status.ContainerStatus?.ContainerID;
    });
    const observedMs = Date.now() - killedAt;
    const st = await call('inspect', (s) => docker.getContainer(replacement).inspect(withSignal({}, s)));
    const dead = await call('inspect', (s) => docker.getContainer(cid).inspect(withSignal({}, s)));
    // Let the service settle at N running before the next sample.
    await until(`${this.n} running tasks again`, 15_000, 100, async () => ((await this.tasks()).filter(SwarmService.running).length === this.n ? true : undefined));
    const startedAt = engineTimeMs(st.State.StartedAt);
    return { ms: startedAt - engineTimeMs(dead.State.FinishedAt), fromCallMs: startedAt - killedAt, observedMs };
  }

  /** Removes the service and waits until its containers are gone (swarm removes them); forces the stragglers. */
  async remove(): Promise<void> {
    if (this.id) {
      await call('service remove', (s) => docker.getService(this.id).remove(withSignal({}, s)), T.swarm).catch((e: Error) => {
        if (!/not found/i.test(e.message)) throw e;
      });
    }
    const mine = async (): Promise<string[]> =>
      (await listByLabel(RUN_LABEL, this.runId)).filter((c) => c.labels['com.docker.swarm.service.name'] === this.name).map((c) => c.id);
    try {
      await until(`the containers of service ${this.name} to go`, 60_000, 250, async () => ((await mine()).length === 0 ? true : undefined));
    } catch {
      for (const id of await mine()) {
        await call('remove', (s) => docker.getContainer(id).remove(withSignal({ force: true, v: true }, s)), T.remove).catch(() => undefined);
      }
    }
    await sleep(500);
  }
}

/** Every service this bench run made (they carry RUN_LABEL), for the final cleanup. */
export async function removeRunServices(runId: string): Promise<number> {
  const services = (await call('service list', (s) => docker.listServices(withSignal({ filters: { label: [`${RUN_LABEL}=${runId}`] } }, s)))) as Array<{ ID: string }>;
  for (const svc of services) {
    await call('service remove', (s) => docker.getService(svc.ID).remove(withSignal({}, s)), T.swarm).catch(() => undefined);
  }
  return services.length;
}
