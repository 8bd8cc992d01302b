// The Runtime contract on Kubernetes Pods, plus what only Kubernetes shows:
// the Pod as the API server stores it (labels, annotations, owner reference,
// security context, resources), one request per list, Retry-After, the
// stop/start/rename semantics of Pods, and a watch that survives broken,
// stalled and compacted streams.
//
// No Docker engine and no cluster: the test API server
// (test/support/kube-apiserver) with a kubelet played here by HostKubelet. It
// runs each Pod's container as a process on this host: the image's default
// command or the Pod's command/args (with Kubernetes' $(VAR) expansion), its
// output as the Pod's log, its exit as the Pod's phase and exit code. It acts
// as a kubelet does on the Pod's spec: activeDeadlineSeconds or a graceful
// deletion -> SIGTERM to the main process, SIGKILL to its process group after
// the grace period; execs run on this host too, so `env`, the kill script and
// `ps` are real. What it cannot show (scheduling, image pulls, isolation) is
// scripted: images named in ABSENT fail to pull; NOENV_IMAGE has no env and
// no sh for exec.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { constants as osConstants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRuntimeError } from '../src/runtime/errors.js';
import { KubernetesRuntime } from '../src/runtime/kubernetes/kubernetes-runtime.js';
import { LABEL, type RuntimeEvent } from '../src/runtime/types.js';
import { startTestApiServer, type TestApiServer } from './support/kube-apiserver/index.js';
import { TEST_IMAGE, uniqueControllerId } from './support/engine.js';
import { contractRequest, eventually, readAll, runtimeContract } from './support/runtime-contract.js';

const NOENV_IMAGE = 'berth-test/nosh:1';
const ABSENT = /absent/;
/** The images' ENTRYPOINT and CMD, as scripts/build-test-images.sh builds them. */
const IMAGES: Record<string, { entrypoint: string[]; cmd: string[] }> = {
  [TEST_IMAGE]: { entrypoint: [], cmd: ['/bin/sh', '-c', "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done"] },
  [NOENV_IMAGE]: { entrypoint: [], cmd: ['sleep', '3600'] },
};

/** Kubernetes' expansion of $(VAR) in command, args and env values: $$ is a literal $, unknown references stay. */
function expand(input: string, env: Record<string, string>): string {
  let out = '';
  for (let i = 0; i < input.length; i++) {
    const c = input[i]!;
    if (c !== '$' || i + 1 >= input.length) {
      out += c;
      continue;
    }
    const next = input[i + 1]!;
    if (next === '$') {
      out += '$';
      i++;
    } else if (next === '(') {
      const close = input.indexOf(')', i + 2);
      if (close < 0) {
        out += '$(';
        i++;
        continue;
      }
      const name = input.slice(i + 2, close);
      out += Object.hasOwn(env, name) ? env[name] : `$(${name})`;
      i = close;
    } else {
      out += `$${next}`;
      i++;
    }
  }
  return out;
}

interface PodJson {
  metadata: { name: string; namespace: string; uid: string; deletionTimestamp?: string; deletionGracePeriodSeconds?: number };
  spec: {
    containers: Array<{ image: string; command?: string[]; args?: string[]; env?: Array<{ name: string; value?: string }> }>;
    activeDeadlineSeconds?: number;
    terminationGracePeriodSeconds?: number;
  };
  status?: { phase?: string };
}

interface Container {
  ns: string;
  name: string;
  uid: string;
  image: string;
  env: Record<string, string>;
  child?: ChildProcess;
  exited: boolean;
  killing: boolean;
  deadline: boolean;
  execs: Set<ChildProcess>;
}

const exitCode = (code: number | null, signal: NodeJS.Signals | null): number => code ?? 128 + (signal ? (osConstants.signals[signal] ?? 0) : 0);

/** Plays the kubelet with host processes; see the header. */
class HostKubelet {
  private readonly containers = new Map<string, Container>();
  private timer: NodeJS.Timeout | undefined;
  private readonly dir = mkdtempSync(join(tmpdir(), 'berth-kubelet-'));

  constructor(private readonly server: TestApiServer) {}

  start(): void {
    this.server.control.setExecHandler((ns, pod, _container, command, stdin) => this.exec(ns, pod, command, stdin));
    const tick = (): void => {
      try {
        this.sync();
      } finally {
        this.timer = setTimeout(tick, 20);
      }
    };
    tick();
  }

  stop(): void {
    clearTimeout(this.timer);
    for (const c of this.containers.values()) this.killAll(c);
    rmSync(this.dir, { recursive: true, force: true });
  }

  private sync(): void {
    const pods = (this.server.control.get('/api/v1/pods') ?? []) as unknown as PodJson[];
    const seen = new Set<string>();
    for (const pod of pods) {
      const { uid, name, namespace: ns } = pod.metadata;
      seen.add(uid);
      let c = this.containers.get(uid);
      if (!c) {
        if (pod.metadata.deletionTimestamp || pod.status?.phase !== 'Pending') continue;
        c = this.run(pod);
        this.containers.set(uid, c);
        continue;
      }
      const running = c.child !== undefined && !c.exited;
      if (pod.metadata.deletionTimestamp) {
        if (running && !c.killing) this.terminate(c, pod.metadata.deletionGracePeriodSeconds ?? 30);
        else if (!running) this.server.control.finishPodTermination(ns, name);
      } else if (pod.spec.activeDeadlineSeconds !== undefined && running && !c.killing) {
        c.deadline = true;
        this.terminate(c, pod.spec.terminationGracePeriodSeconds ?? 30);
      }
    }
    // Deleted without grace: the container goes with the Pod.
    for (const [uid, c] of this.containers) {
      if (seen.has(uid)) continue;
      this.killAll(c);
      this.containers.delete(uid);
    }
  }

  private run(pod: PodJson): Container {
    const { uid, name, namespace: ns } = pod.metadata;
    const spec = pod.spec.containers[0]!;
    const env: Record<string, string> = {};
    for (const e of spec.env ?? []) env[e.name] = expand(e.value ?? '', env);
    const c: Container = { ns, name, uid, image: spec.image, env, exited: false, killing: false, deadline: false, execs: new Set() };
    if (ABSENT.test(spec.image)) {
      this.server.control.setPodPhase(ns, name, 'Pending', false, { reason: 'ErrImagePull', message: `failed to pull and unpack image "${spec.image}": not found` });
      return c;
    }
    // command replaces the image's ENTRYPOINT (and then its CMD is not used), args its CMD.
    const image = IMAGES[spec.image] ?? { entrypoint: [], cmd: ['sleep', '3600'] };
    const fromSpec = (list: string[]): string[] => list.map((s) => expand(s, env));
    const argv = spec.command ? [...fromSpec(spec.command), ...fromSpec(spec.args ?? [])] : [...image.entrypoint, ...(spec.args ? fromSpec(spec.args) : image.cmd)];
    const [file, ...rest] = argv;
    const child = spawn(file!, rest, { cwd: this.dir, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    c.child = child;
    const log = (chunk: Buffer): void => this.server.control.appendPodLog(ns, name, chunk.toString('utf8'));
    child.stdout!.on('data', log);
    child.stderr!.on('data', log);
    child.on('spawn', () => this.server.control.setPodPhase(ns, name, 'Running', true));
    child.on('error', () => undefined);
    child.on('exit', (code, signal) => {
      c.exited = true;
      this.killAll(c); // the container's other processes die with its PID 1
      const current = this.server.control.get(`/api/v1/namespaces/${ns}/pods/${name}`) as unknown as PodJson | undefined;
      if (!current || current.metadata.uid !== uid) return;
      if (current.metadata.deletionTimestamp) {
        this.server.control.finishPodTermination(ns, name);
        return;
      }
      const n = exitCode(code, signal);
      this.server.control.setPodPhase(ns, name, n === 0 && !c.deadline ? 'Succeeded' : 'Failed', false, {
        exitCode: n,
        ...(c.deadline ? { message: 'Pod was active on the node longer than the specified deadline' } : {}),
      });
    });
    return c;
  }

  /** SIGTERM to the main process, SIGKILL to its group after the grace period. */
  private terminate(c: Container, graceSeconds: number): void {
    c.killing = true;
    const pid = c.child?.pid;
    if (pid === undefined) return;
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // gone already
    }
    const t = setTimeout(() => this.killAll(c), graceSeconds * 1000);
    c.child!.once('exit', () => clearTimeout(t));
  }

  private killAll(c: Container): void {
    const pid = c.child?.pid;
    if (pid !== undefined) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    for (const e of c.execs) {
      try {
        if (e.pid !== undefined) process.kill(-e.pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
  }

  private exec(ns: string, pod: string, command: string[], stdin: Buffer | undefined): Promise<{ stdout?: string | Buffer; stderr?: string | Buffer; exitCode: number }> {
    const c = [...this.containers.values()].find((x) => x.ns === ns && x.name === pod && !x.exited);
    if (!c) return Promise.resolve({ stderr: 'container not running', exitCode: 126 });
    const missing = (file: string) => ({ stdout: `OCI runtime exec failed: exec failed: unable to start container process: exec: "${file}": executable file not found in $PATH: unknown\r\n`, exitCode: 126 });
    if (c.image === NOENV_IMAGE && ['env', 'sh', 'ps'].includes(command[0] ?? '')) return Promise.resolve(missing(command[0]!));
    return new Promise((resolve) => {
      const child = spawn(command[0]!, command.slice(1), { cwd: this.dir, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...c.env }, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
      c.execs.add(child);
      // Bytes, not text: berth cp moves tar archives through exec.
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout!.on('data', (d: Buffer) => out.push(d));
      child.stderr!.on('data', (d: Buffer) => err.push(d));
      child.stdin!.on('error', () => undefined);
      child.stdin!.end(stdin ?? Buffer.alloc(0));
      child.on('error', () => {
        c.execs.delete(child);
        resolve(missing(command[0]!));
      });
      child.on('close', (code, signal) => {
        c.execs.delete(child);
        resolve({ stdout: Buffer.concat(out), stderr: Buffer.concat(err), exitCode: exitCode(code, signal) });
      });
    });
  }
}

async function withKubelet(opts: Parameters<typeof startTestApiServer>[0] = {}): Promise<{ server: TestApiServer; kubelet: HostKubelet; kc: KubeConfig }> {
  const server = await startTestApiServer({ podTerminationDelayMs: 'manual', ...opts });
  const kubelet = new HostKubelet(server);
  kubelet.start();
  const kc = new KubeConfig();
  kc.loadFromFile(server.kubeconfigPath);
  return { server, kubelet, kc };
}

runtimeContract(
  'kubernetes',
  async () => {
    const { server, kubelet, kc } = await withKubelet();
    const runtime = new KubernetesRuntime({ kubeConfig: kc });
    return {
      runtime,
      controllerId: uniqueControllerId(),
      cleanup: async () => {
        kubelet.stop();
        await server.close();
      },
    };
  },
  { needsDockerEngine: false, createStarts: true, checksImages: false },
);

describe('KubernetesRuntime on the test API server', () => {
  const managedBy = uniqueControllerId();
  let server: TestApiServer;
  let kubelet: HostKubelet;
  let kc: KubeConfig;
  let core: CoreV1Api;
  let runtime: KubernetesRuntime;
  const owner = (labels: Record<string, string>) => ({ apiVersion: 'berth.dev/v1alpha1', kind: labels[LABEL.kind] ?? 'Instance', name: labels[LABEL.name] ?? '', uid: `uid-of-${labels[LABEL.name]}`, controller: true, blockOwnerDeletion: true });

  beforeAll(async () => {
    ({ server, kubelet, kc } = await withKubelet({ bookmarkIntervalMs: 100 }));
    core = kc.makeApiClient(CoreV1Api);
    runtime = new KubernetesRuntime({ kubeConfig: kc, ownerReference: owner, stallTimeoutMs: 1_000 });
  });

  afterAll(async () => {
    kubelet?.stop();
    await server?.close();
  });

  const pod = (id: string): Promise<V1Pod> => core.readNamespacedPod({ namespace: id.split('/')[0]!, name: id.split('/')[1]! });

  it('creates a Pod with berth labels, the hash and fields, its owner, a hardened security context and resources', async () => {
    const req = contractRequest(managedBy, 'hardened', {
      image: TEST_IMAGE,
      user: '1000:1000',
      ports: [{ containerPort: 8080 }],
      resources: { cpus: '0.5', memory: '256Mi' },
      security: { readOnlyRootFilesystem: true },
      labels: { team: 'infra' },
      stopGracePeriodSeconds: 4,
    });
    const id = await runtime.create(req);
    expect(id).toBe(`default/${managedBy}-hardened`);
    const p = await pod(id);
    expect(p.metadata?.labels).toEqual({
      team: 'infra',
      [LABEL.managedBy]: managedBy,
      [LABEL.kind]: 'Instance',
      [LABEL.namespace]: 'default',
      [LABEL.name]: 'hardened',
      [LABEL.configHash]: req.labels[LABEL.configHash],
      [LABEL.hashVersion]: req.labels[LABEL.hashVersion],
    });
    expect(p.metadata?.annotations).toEqual({ [LABEL.createdAt]: req.labels[LABEL.createdAt], [LABEL.configFields]: req.labels[LABEL.configFields] });
    expect(p.metadata?.ownerReferences).toEqual([{ apiVersion: 'berth.dev/v1alpha1', kind: 'Instance', name: 'hardened', uid: 'uid-of-hardened', controller: true, blockOwnerDeletion: true }]);
    const c = p.spec!.containers[0]!;
    expect(c.securityContext).toEqual({
      capabilities: { drop: ['ALL'] },
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      privileged: false,
      runAsUser: 1000,
      runAsGroup: 1000,
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(c.resources).toEqual({ limits: { cpu: '500m', memory: '268435456' }, requests: { cpu: '500m', memory: '268435456' } });
    expect(c.ports).toEqual([{ containerPort: 8080, protocol: 'TCP' }]);
    expect(p.spec).toMatchObject({ restartPolicy: 'Never', terminationGracePeriodSeconds: 4, automountServiceAccountToken: false, enableServiceLinks: false });
    expect(p.status?.qosClass).toBe('Guaranteed');
    const observed = await runtime.inspect(id);
    expect(observed).toMatchObject({ kind: 'Instance', owner: 'hardened', configHash: req.labels[LABEL.configHash], createdAt: Number(req.labels[LABEL.createdAt]) });
    await runtime.start(id);
    expect((await runtime.inspect(id)).state).toBe('running');
  });

  it('lists with exactly one request', async () => {
    const before = server.control.requests.length;
    const listed = await runtime.list({ managedBy, kind: 'Instance' });
    const during = server.control.requests.slice(before).filter((r) => r.path.includes('/pods') && r.query['watch'] === undefined);
    expect(during).toHaveLength(1);
    expect(during[0]).toMatchObject({ method: 'GET', path: '/api/v1/pods', status: 200 });
    expect(during[0]!.query['labelSelector']).toBe(`${LABEL.managedBy}=${managedBy},${LABEL.kind}=Instance`);
    expect(listed.map((c) => c.owner)).toContain('hardened');
  });

  it('answers 429 with Retry-After as Unavailable with retryAfterMs', async () => {
    server.control.injectFault({ method: 'GET', path: '/pods', watch: false, status: 429, retryAfterSeconds: 2 });
    const err = await runtime.list({ managedBy }).catch((e: unknown) => e);
    expect(isRuntimeError(err, 'Unavailable')).toBe(true);
    expect((err as { retryAfterMs?: number }).retryAfterMs).toBe(2000);
  });

  it('stop keeps the Pod (Failed, exit code kept); start runs it again under the same name and id', async () => {
    const id = await runtime.create(contractRequest(managedBy, 'cycle', { image: TEST_IMAGE, args: ['sh', '-c', 'trap "exit 5" TERM; while :; do sleep 1 & wait $!; done'] }));
    await runtime.start(id);
    const first = (await pod(id)).metadata!.uid;
    await runtime.stop(id, 10);
    expect(await runtime.inspect(id)).toMatchObject({ state: 'exited', exitCode: 5 });
    expect((await pod(id)).spec?.activeDeadlineSeconds).toBe(1);
    await runtime.start(id);
    const again = await pod(id);
    expect(again.metadata!.uid).not.toBe(first);
    expect(again.spec?.activeDeadlineSeconds).toBeUndefined();
    expect(await runtime.inspect(id)).toMatchObject({ id, state: 'running', owner: 'cycle' });
  });

  it('start of a Pod that exited by itself runs it again (the planner\'s restart)', async () => {
    const id = await runtime.create(contractRequest(managedBy, 'oneshot', { image: TEST_IMAGE, args: ['sh', '-c', 'echo ran; exit 4'] }));
    await runtime.start(id);
    await eventually('the one-shot to exit', async () => ((await runtime.inspect(id)).state === 'exited' ? true : undefined));
    expect(await runtime.inspect(id)).toMatchObject({ state: 'exited', exitCode: 4 });
    const first = (await pod(id)).metadata!.uid;
    await runtime.start(id);
    await eventually('the one-shot to run again', async () => ((await pod(id)).metadata!.uid !== first ? true : undefined));
    await eventually('the second run to exit', async () => ((await runtime.inspect(id)).exitCode === 4 ? true : undefined));
  });

  it('rename records the berth name on the Pod, which keeps its own', async () => {
    const id = await runtime.create(contractRequest(managedBy, 'renamed', { image: TEST_IMAGE }));
    await runtime.rename(id, `${managedBy}-final`);
    const [c] = await runtime.list({ managedBy, name: 'renamed' });
    expect(c).toMatchObject({ id, name: `${managedBy}-final` });
    expect((await pod(id)).metadata?.annotations?.['berth.dev/container-name']).toBe(`${managedBy}-final`);
    await runtime.rename(id, id.split('/')[1]!);
    expect((await pod(id)).metadata?.annotations?.['berth.dev/container-name']).toBeUndefined();
  });

  it('start of a Pod whose image cannot be pulled is ImagePullFailed', async () => {
    const id = await runtime.create(contractRequest(managedBy, 'pullfail', { image: 'berth-test/absent:1' }));
    const err = await runtime.start(id).catch((e: unknown) => e);
    expect(isRuntimeError(err, 'ImagePullFailed')).toBe(true);
    expect((err as Error).message).toContain('berth-test/absent:1');
    expect(await runtime.inspect(id)).toMatchObject({ state: 'created', engineHealth: 'unhealthy' });
  });

  it('a timed-out exec is killed through its env marker and reports the kill', async () => {
    const id = `default/${managedBy}-hardened`;
    const began = Date.now();
    const r = await runtime.exec(id, { command: ['sh', '-c', 'echo started; sleep 30'], timeoutMs: 500 });
    expect(r).toMatchObject({ timedOut: true, exitCode: 137, stdout: 'started\n', stderr: '' });
    expect(Date.now() - began).toBeLessThan(2_500);
    // The user's argv, not the wrapper's: env execs the command.
    const marked = await runtime.exec(id, { command: ['sh', '-c', 'tr "\\0" "\\n" </proc/$$/environ | grep -c BERTH_EXEC_ID'], timeoutMs: 5_000 });
    expect(marked).toMatchObject({ exitCode: 0, stdout: '1\n' });
  });

  it('exec in an image without env runs the command as given; its timeout is reported, not hidden', async () => {
    const id = await runtime.create(contractRequest(managedBy, 'noenv', { image: NOENV_IMAGE }));
    await runtime.start(id);
    expect(await runtime.exec(id, { command: ['echo', 'hi'], timeoutMs: 5_000 })).toMatchObject({ exitCode: 0, stdout: 'hi\n', timedOut: false });
    const slow = await runtime.exec(id, { command: ['sleep', '2'], timeoutMs: 300 });
    expect(slow).toMatchObject({ timedOut: true, exitCode: -1 });
    expect(slow.stderr).toMatch(/could not mark the process/);
  });

  it('exec into a stopped Pod is Conflict; a missing one NotFound', async () => {
    const id = await runtime.create(contractRequest(managedBy, 'stopped', { image: TEST_IMAGE }));
    await runtime.start(id);
    await runtime.stop(id, 10);
    expect(isRuntimeError(await runtime.exec(id, { command: ['true'], timeoutMs: 1_000 }).catch((e: unknown) => e), 'Conflict')).toBe(true);
    expect(isRuntimeError(await runtime.exec('default/nope', { command: ['true'], timeoutMs: 1_000 }).catch((e: unknown) => e), 'NotFound')).toBe(true);
  });

  it('follows logs from now on (tail 0) until the caller aborts', async () => {
    const id = await runtime.create(contractRequest(managedBy, 'ticker', { image: TEST_IMAGE, args: ['sh', '-c', 'while :; do echo tick; sleep 0.1; done'] }));
    await runtime.start(id);
    const abort = new AbortController();
    const stream = await runtime.logs(id, { follow: true, tail: 0 }, abort.signal);
    const text = readAll(stream);
    await new Promise((r) => setTimeout(r, 400));
    abort.abort();
    expect(await text).toMatch(/^(tick\n)+$/);
  });

  it('usage is empty without metrics.k8s.io', async () => {
    expect(await runtime.usage(`default/${managedBy}-hardened`)).toEqual({});
  });

  it('refuses to touch a Pod without the managed-by label', async () => {
    await core.createNamespacedPod({ namespace: 'default', body: { metadata: { name: 'not-berths' }, spec: { containers: [{ name: 'c', image: TEST_IMAGE }] } } });
    const err = await runtime.remove('default/not-berths').catch((e: unknown) => e);
    expect(isRuntimeError(err, 'Invalid')).toBe(true);
    await core.deleteNamespacedPod({ namespace: 'default', name: 'not-berths' });
  });

  describe('events', () => {
    const events: RuntimeEvent[] = [];
    const errors: Error[] = [];
    const stop = new AbortController();
    const sawEvent = (action: string, id: string) => () => events.find((e) => e.action === action && e.containerId === id);

    beforeAll(async () => {
      runtime.events((e) => events.push(e), stop.signal, (e) => errors.push(e));
      await eventually('the events watch to open', () => (server.control.watchCount() > 0 ? true : undefined));
    });

    afterAll(() => stop.abort());

    it('resume after the API server breaks the watch', async () => {
      server.control.breakWatches();
      const id = await runtime.create(contractRequest(managedBy, 'after-break', { image: TEST_IMAGE }));
      await eventually('a start event after the break', sawEvent('start', id));
      expect(errors.some((e) => /watch pods/.test(e.message))).toBe(true);
    });

    it('resume after a stalled watch (no event, no bookmark) once the watchdog fires', async () => {
      const before = errors.length;
      server.control.stallWatches('forever');
      const id = await runtime.create(contractRequest(managedBy, 'after-stall', { image: TEST_IMAGE }));
      const start = await eventually('a start event after the stall', sawEvent('start', id), 10_000);
      expect(start.labels[LABEL.name]).toBe('after-stall');
      expect(errors.slice(before).some((e) => /no event or bookmark for 1000 ms/.test(e.message))).toBe(true);
    });

    it('relist after 410 Expired and deliver what happened in the gap', async () => {
      // Its own subscription, with the default watchdog (90 s), so only the compaction can end the gap.
      const id = await runtime.create(contractRequest(managedBy, 'gap', { image: TEST_IMAGE }));
      await runtime.start(id);
      const own = new KubernetesRuntime({ kubeConfig: kc });
      const seen: RuntimeEvent[] = [];
      const ownStop = new AbortController();
      const watchesBefore = server.control.watchCount();
      own.events((e) => seen.push(e), ownStop.signal);
      await eventually('its watch to open', () => (server.control.watchCount() > watchesBefore ? true : undefined));
      const isList = (r: { path: string; query: Record<string, unknown> }) => r.path === '/api/v1/pods' && r.query['watch'] === undefined;
      const listsBefore = server.control.requests.filter(isList).length;
      server.control.stallWatches('forever');
      await runtime.stop(id, 10); // the die happens while the watch hears nothing
      server.control.compactBefore(server.control.resourceVersion());
      server.control.breakWatches(); // it resumes from a compacted resourceVersion: 410, relist
      const die = await eventually('a die event after the relist', () => seen.find((e) => e.action === 'die' && e.containerId === id), 10_000);
      expect(die.labels[LABEL.name]).toBe('gap');
      expect(server.control.requests.filter(isList).length).toBeGreaterThan(listsBefore);
      ownStop.abort();
    });

    it('deliver destroy when a Pod is removed', async () => {
      const id = `default/${managedBy}-after-break`;
      await runtime.remove(id);
      await eventually('a destroy event', sawEvent('destroy', id));
    });
  });
});
