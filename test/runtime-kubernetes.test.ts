// The Runtime contract on Kubernetes Pods on a real node (the kit's kubelet,
// or any cluster of BERTH_TEST_KUBECONFIG whose nodes hold the test images),
// plus what only Kubernetes shows: the Pod as the apiserver stores it
// (labels, annotations, owner reference, security context, resources), one
// request per list, Retry-After, the stop/start/rename semantics of Pods, and
// a watch that survives broken, stalled and expired streams. Requests and
// injected answers go through the fault proxy (kube-fault-proxy.ts); exec,
// logs and everything else go to the apiserver directly.
import { CoreV1Api, KubeConfig, NetworkingV1Api, type V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRuntimeError } from '../src/runtime/errors.js';
import { KubernetesRuntime } from '../src/runtime/kubernetes/kubernetes-runtime.js';
import { LABEL, type RuntimeEvent } from '../src/runtime/types.js';
import { TEST_IMAGE, TEST_IMAGE_NOSH, uniqueControllerId } from './support/engine.js';
import { applyCrds, CustomResources, deleteNamespaces, freshNamespace, testKubeConfig } from './support/kube-cluster.js';
import { startFaultProxy, type KubeFaultProxy } from './support/kube-fault-proxy.js';
import { noKube } from './support/provided.js';
import { contractRequest, createOnly, eventually, readAll, runtimeContract } from './support/runtime-contract.js';

const NOENV_IMAGE = TEST_IMAGE_NOSH;

runtimeContract(
  'kubernetes',
  async () => {
    const kc = testKubeConfig();
    const namespace = await freshNamespace(kc, 'berth-contract');
    const runtime = new KubernetesRuntime({ kubeConfig: kc, namespace });
    return {
      runtime,
      controllerId: uniqueControllerId(),
      cleanup: () => deleteNamespaces(kc, [namespace]),
    };
  },
  { needsDockerEngine: false, needsKube: true, createStarts: true, checksImages: false },
);

describe.skipIf(noKube())('KubernetesRuntime on a real cluster', () => {
  const managedBy = uniqueControllerId();
  let proxy: KubeFaultProxy;
  let kc: KubeConfig;
  let proxiedKc: KubeConfig;
  let core: CoreV1Api;
  let runtime: KubernetesRuntime;
  let proxied: KubernetesRuntime;
  let ns = '';
  const owner = (labels: Record<string, string>) => ({ apiVersion: 'berth.dev/v1alpha1', kind: labels[LABEL.kind] ?? 'Instance', name: labels[LABEL.name] ?? '', uid: `uid-of-${labels[LABEL.name]}`, controller: true, blockOwnerDeletion: true });

  beforeAll(async () => {
    kc = testKubeConfig();
    ns = await freshNamespace(kc, 'berth-runtime');
    ({ proxy, kc: proxiedKc } = await startFaultProxy(kc));
    core = kc.makeApiClient(CoreV1Api);
    // Pods go to the test's namespace; the owner reference is then cross-namespace and left off, so one is made here only for the 'hardened' check.
    runtime = new KubernetesRuntime({ kubeConfig: kc, namespace: ns, stallTimeoutMs: 1_000 });
    proxied = new KubernetesRuntime({ kubeConfig: proxiedKc, namespace: ns, stallTimeoutMs: 1_000 });
  });

  afterAll(async () => {
    await proxy?.close();
    if (kc) await deleteNamespaces(kc, [ns]);
  });

  const pod = (id: string): Promise<V1Pod> => core.readNamespacedPod({ namespace: id.split('/')[0]!, name: id.split('/')[1]! });
  const request = (name: string, template: Record<string, unknown>) => {
    const req = contractRequest(managedBy, name, template);
    req.labels[LABEL.namespace] = ns; // the owner's namespace is the Pod's: an owner reference is set
    return req;
  };

  it('creates a Pod with berth labels, the hash and fields, its owner, a hardened security context and resources', async () => {
    // A real owner: the garbage collector deletes a Pod whose owner does not exist.
    await applyCrds(kc);
    const instance = await new CustomResources(kc).create({ apiVersion: 'berth.dev/v1alpha1', kind: 'Instance', metadata: { name: 'hardened', namespace: ns }, spec: { image: TEST_IMAGE } });
    const withOwner = new KubernetesRuntime({ kubeConfig: kc, namespace: ns, ownerReference: (labels) => ({ ...owner(labels), uid: instance.metadata.uid! }) });
    const req = request('hardened', {
      image: TEST_IMAGE,
      user: '1000:1000',
      ports: [{ containerPort: 8080 }],
      resources: { cpus: '0.5', memory: '256Mi' },
      security: { readOnlyRootFilesystem: true },
      labels: { team: 'infra' },
      stopGracePeriodSeconds: 4,
    });
    const id = await createOnly(withOwner, req);
    expect(id).toBe(`${ns}/${managedBy}-hardened`);
    const p = await pod(id);
    expect(p.metadata?.labels).toEqual({
      team: 'infra',
      [LABEL.managedBy]: managedBy,
      [LABEL.kind]: 'Instance',
      [LABEL.namespace]: ns,
      [LABEL.name]: 'hardened',
      [LABEL.configHash]: req.labels[LABEL.configHash],
      [LABEL.hashVersion]: req.labels[LABEL.hashVersion],
    });
    expect(p.metadata?.annotations).toEqual({ [LABEL.createdAt]: req.labels[LABEL.createdAt], [LABEL.configFields]: req.labels[LABEL.configFields] });
    expect(p.metadata?.ownerReferences).toEqual([{ apiVersion: 'berth.dev/v1alpha1', kind: 'Instance', name: 'hardened', uid: instance.metadata.uid, controller: true, blockOwnerDeletion: true }]);
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
    expect(c.resources).toEqual({ limits: { cpu: '500m', memory: '268435456' }, requests: { cpu: '100m', memory: '67108864' } });
    expect(c.ports).toEqual([{ containerPort: 8080, protocol: 'TCP' }]);
    expect(p.spec).toMatchObject({ restartPolicy: 'Never', terminationGracePeriodSeconds: 4, automountServiceAccountToken: false, enableServiceLinks: false });
    expect(p.status?.qosClass).toBe('Burstable');
    const observed = await runtime.inspect(id);
    expect(observed).toMatchObject({ kind: 'Instance', owner: 'hardened', configHash: req.labels[LABEL.configHash], createdAt: Number(req.labels[LABEL.createdAt]) });
    await runtime.relaunch(id);
    expect((await runtime.inspect(id)).state).toBe('running');
  });

  it('lists with exactly one request, in its namespace only', async () => {
    const before = proxy.requests.length;
    const listed = await proxied.list({ managedBy, kind: 'Instance' });
    const during = proxy.requests.slice(before).filter((r) => r.path.includes('/pods') && r.query['watch'] === undefined);
    expect(during).toHaveLength(1);
    expect(during[0]).toMatchObject({ method: 'GET', path: `/api/v1/namespaces/${ns}/pods`, status: 200 });
    expect(during[0]!.query['labelSelector']).toBe(`${LABEL.managedBy}=${managedBy},${LABEL.kind}=Instance`);
    expect(listed.map((c) => c.owner)).toContain('hardened');
  });

  it('answers 429 with Retry-After as Unavailable with retryAfterMs', async () => {
    proxy.injectFault({ method: 'GET', path: '/pods', watch: false, status: 429, retryAfterSeconds: 2 });
    const err = await proxied.list({ managedBy }).catch((e: unknown) => e);
    expect(isRuntimeError(err, 'Unavailable')).toBe(true);
    expect((err as { retryAfterMs?: number }).retryAfterMs).toBe(2000);
  });

  it('stop keeps the Pod (Failed, exit code kept); start runs it again under the same name and id', async () => {
    const id = await runtime.launch(request('cycle', { image: TEST_IMAGE, args: ['sh', '-c', 'trap "exit 5" TERM; while :; do sleep 1 & wait $!; done'] }));
    const first = (await pod(id)).metadata!.uid;
    await runtime.halt(id, 10);
    expect(await runtime.inspect(id)).toMatchObject({ state: 'exited', exitCode: 5 });
    expect((await pod(id)).spec?.activeDeadlineSeconds).toBe(1);
    await runtime.relaunch(id);
    const again = await pod(id);
    expect(again.metadata!.uid).not.toBe(first);
    expect(again.spec?.activeDeadlineSeconds).toBeUndefined();
    expect(await runtime.inspect(id)).toMatchObject({ id, state: 'running', owner: 'cycle' });
  });

  it('retire with less grace than the Pod\'s own deletes it with that grace: a PID 1 that ignores SIGTERM does not hold it for terminationGracePeriodSeconds', async () => {
    const id = await runtime.launch(request('stubborn', { image: TEST_IMAGE, args: ['sleep', '3600'], stopGracePeriodSeconds: 20 }));
    expect((await pod(id)).spec?.terminationGracePeriodSeconds).toBe(20);
    const started = Date.now();
    await runtime.retire(id, 0);
    expect(await pod(id).catch((e: { code?: number }) => e.code)).toBe(404);
    // The Pod's own grace would be 20 s (sleep ignores SIGTERM); the delete's is 1 s.
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('start of a Pod that exited by itself runs it again (the planner\'s restart)', async () => {
    const id = await runtime.launch(request('oneshot', { image: TEST_IMAGE, args: ['sh', '-c', 'echo ran; exit 4'] }));
    await eventually('the one-shot to exit', async () => ((await runtime.inspect(id)).state === 'exited' ? true : undefined));
    expect(await runtime.inspect(id)).toMatchObject({ state: 'exited', exitCode: 4 });
    const first = (await pod(id)).metadata!.uid;
    await runtime.relaunch(id);
    await eventually('the one-shot to run again', async () => ((await pod(id)).metadata!.uid !== first ? true : undefined), 30_000);
    await eventually('the second run to exit', async () => ((await runtime.inspect(id)).exitCode === 4 ? true : undefined), 30_000);
  });

  it('rename records the berth name on the Pod, which keeps its own', async () => {
    const id = await createOnly(runtime, request('renamed', { image: TEST_IMAGE }));
    await runtime.promote(id, `${managedBy}-final`);
    const [c] = await runtime.list({ managedBy, name: 'renamed' });
    expect(c).toMatchObject({ id, name: `${managedBy}-final` });
    expect((await pod(id)).metadata?.annotations?.['berth.dev/container-name']).toBe(`${managedBy}-final`);
    await runtime.promote(id, id.split('/')[1]!);
    expect((await pod(id)).metadata?.annotations?.['berth.dev/container-name']).toBeUndefined();
  });

  it('start of a Pod whose image cannot be pulled is ImagePullFailed (the kubelet\'s ErrImageNeverPull)', async () => {
    const id = await createOnly(runtime, request('pullfail', { image: 'berth-test/absent:1', imagePullPolicy: 'Never' }));
    const err = await runtime.relaunch(id).catch((e: unknown) => e);
    expect(isRuntimeError(err, 'ImagePullFailed')).toBe(true);
    expect((err as Error).message).toContain('berth-test/absent:1');
    expect(await runtime.inspect(id)).toMatchObject({ state: 'created', engineHealth: 'unhealthy' });
  });

  it('a timed-out exec is killed through its env marker and reports the kill', async () => {
    // Not 'hardened': the garbage collector deletes it, its owner uid names no object.
    const id = await runtime.launch(request('shell', { image: TEST_IMAGE }));
    const began = Date.now();
    const r = await runtime.exec(id, { command: ['sh', '-c', 'echo started; sleep 30'], timeoutMs: 500 });
    expect(r).toMatchObject({ timedOut: true, exitCode: 137, stdout: 'started\n', stderr: '' });
    expect(Date.now() - began).toBeLessThan(2_500);
    // The user's argv, not the wrapper's: env execs the command.
    const marked = await runtime.exec(id, { command: ['sh', '-c', 'tr "\\0" "\\n" </proc/$$/environ | grep -c BERTH_EXEC_ID'], timeoutMs: 5_000 });
    expect(marked).toMatchObject({ exitCode: 0, stdout: '1\n' });
  });

  it('exec in an image without env runs the command as given; its timeout is reported, not hidden', async () => {
    const id = await runtime.launch(request('noenv', { image: NOENV_IMAGE }));
    expect(await runtime.exec(id, { command: ['/busybox', 'echo', 'hi'], timeoutMs: 5_000 })).toMatchObject({ exitCode: 0, stdout: 'hi\n', timedOut: false });
    const slow = await runtime.exec(id, { command: ['/busybox', 'sleep', '2'], timeoutMs: 300 });
    expect(slow).toMatchObject({ timedOut: true, exitCode: -1 });
    expect(slow.stderr).toMatch(/could not mark the process/);
  });

  it('exec into a stopped Pod is Conflict; a missing one NotFound', async () => {
    const id = await runtime.launch(request('stopped', { image: TEST_IMAGE }));
    await runtime.halt(id, 10);
    const stopped = await runtime.exec(id, { command: ['true'], timeoutMs: 1_000 }).catch((e: unknown) => e);
    expect(isRuntimeError(stopped, 'Conflict'), JSON.stringify(stopped)).toBe(true);
    const missing = await runtime.exec(`${ns}/nope`, { command: ['true'], timeoutMs: 1_000 }).catch((e: unknown) => e);
    expect(isRuntimeError(missing, 'NotFound'), String(missing)).toBe(true);
  });

  it('follows logs from now on (tail 0) until the caller aborts', async () => {
    const id = await runtime.launch(request('ticker', { image: TEST_IMAGE, args: ['sh', '-c', 'while :; do echo tick; sleep 0.1; done'] }));
    const abort = new AbortController();
    const stream = await runtime.logs(id, { follow: true, tail: 0 }, abort.signal);
    const text = readAll(stream);
    await new Promise((r) => setTimeout(r, 400));
    abort.abort();
    expect(await text).toMatch(/^(tick\n)+$/);
  });

  it('network none: a deny-all NetworkPolicy owned by the Pod, removed with it', async () => {
    const networking = kc.makeApiClient(NetworkingV1Api);
    const id = await createOnly(runtime, request('isolated', { image: TEST_IMAGE, network: 'none' }));
    const name = id.split('/')[1]!;
    const p = await pod(id);
    const policy = await networking.readNamespacedNetworkPolicy({ namespace: ns, name });
    expect(policy.metadata?.ownerReferences).toEqual([expect.objectContaining({ kind: 'Pod', name, uid: p.metadata?.uid })]);
    expect(policy.spec).toMatchObject({ policyTypes: ['Ingress', 'Egress'], podSelector: { matchLabels: expect.objectContaining({ 'berth.dev/name': 'isolated', 'berth.dev/network': 'none' }) } });
    expect(policy.spec?.ingress ?? []).toEqual([]);
    expect(policy.spec?.egress ?? []).toEqual([]);
    // A Pod on the Pod network gets none.
    const open = await createOnly(runtime, request('open', { image: TEST_IMAGE }));
    expect(await networking.readNamespacedNetworkPolicy({ namespace: ns, name: open.split('/')[1]! }).catch((e: { code?: number }) => e.code)).toBe(404);
    await runtime.retire(id, 0);
    await eventually('the policy to go with its Pod (garbage collector)', async () => ((await networking.readNamespacedNetworkPolicy({ namespace: ns, name }).catch((e: { code?: number }) => e.code)) === 404 ? true : undefined), 60_000);
  });

  it('usage is empty without metrics.k8s.io', async () => {
    expect(await runtime.usage(`${ns}/${managedBy}-shell`)).toEqual({});
  });

  it('refuses to touch a Pod without the managed-by label', async () => {
    await core.createNamespacedPod({ namespace: ns, body: { metadata: { name: 'not-berths' }, spec: { containers: [{ name: 'c', image: TEST_IMAGE, imagePullPolicy: 'Never' }] } } });
    const err = await runtime.retire(`${ns}/not-berths`, 0).catch((e: unknown) => e);
    expect(isRuntimeError(err, 'Invalid')).toBe(true);
    expect((await pod(`${ns}/not-berths`)).metadata?.deletionTimestamp).toBeUndefined();
    await core.deleteNamespacedPod({ namespace: ns, name: 'not-berths', gracePeriodSeconds: 0 });
  });

  describe('events', () => {
    const events: RuntimeEvent[] = [];
    const errors: Error[] = [];
    const stop = new AbortController();
    const sawEvent = (action: string, id: string) => () => events.find((e) => e.action === action && e.containerId === id);

    beforeAll(async () => {
      proxied.events((e) => events.push(e), stop.signal, (e) => errors.push(e));
      await eventually('the events watch to open', () => (proxy.watchCount() > 0 ? true : undefined));
    });

    afterAll(() => stop.abort());

    it('resume after the API server breaks the watch', async () => {
      proxy.breakWatches();
      const id = await createOnly(runtime, request('after-break', { image: TEST_IMAGE }));
      await eventually('a start event after the break', sawEvent('start', id));
      expect(errors.some((e) => /watch pods/.test(e.message))).toBe(true);
    });

    it('resume after a stalled watch (no event, no bookmark) once the watchdog fires', async () => {
      const before = errors.length;
      // Stalling holds the watches open now: between two watches (one ended, the next not yet opened) it would hold
      // none, and the next watch would deliver as usual, with nothing for the watchdog to report (CI once saw that).
      await eventually('an open events watch to stall', () => (proxy.watchCount() > 0 ? true : undefined));
      proxy.stallWatches();
      const id = await createOnly(runtime, request('after-stall', { image: TEST_IMAGE }));
      // The watchdog takes the silent watch for dead (1 s here) and resubscribes...
      await eventually('the watchdog to report the stalled watch', () => errors.slice(before).find((e) => /no event or bookmark for 1000 ms/.test(e.message)));
      // ...and the new watch hears the Pod start, however long the kubelet takes to start it: CI once saw
      // no start within 10 s, and whether the Pod had started was not known; a miss now says so.
      const start = await eventually('a start event after the stall', sawEvent('start', id), 60_000).catch(async (e: Error) => {
        const p = await pod(id).catch(() => undefined);
        throw new Error(`${e.message}; the Pod is ${p?.status?.phase ?? 'not found'}; errors since the stall: ${errors.slice(before).map((x) => x.message).join(' | ')}`);
      });
      expect(start.labels[LABEL.name]).toBe('after-stall');
    });

    it('relist after 410 Expired and deliver what happened in the gap', async () => {
      // Its own subscription, with the default watchdog (90 s), so only the expiry can end the gap.
      const id = await runtime.launch(request('gap', { image: TEST_IMAGE }));
      const own = new KubernetesRuntime({ kubeConfig: proxiedKc, namespace: ns });
      const seen: RuntimeEvent[] = [];
      const ownStop = new AbortController();
      const watchesBefore = proxy.watchCount();
      own.events((e) => seen.push(e), ownStop.signal);
      await eventually('its watch to open', () => (proxy.watchCount() > watchesBefore ? true : undefined));
      const isList = (r: { path: string; query: Record<string, unknown> }) => r.path === `/api/v1/namespaces/${ns}/pods` && r.query['watch'] === undefined;
      const listsBefore = proxy.requests.filter(isList).length;
      proxy.stallWatches();
      await runtime.halt(id, 10); // the die happens while the watch hears nothing
      proxy.expireNextWatches(2); // the resumed watches hear 410 Expired, as from a compacted resourceVersion: relist
      proxy.breakWatches();
      const die = await eventually('a die event after the relist', () => seen.find((e) => e.action === 'die' && e.containerId === id), 15_000);
      expect(die.labels[LABEL.name]).toBe('gap');
      expect(proxy.requests.filter(isList).length).toBeGreaterThan(listsBefore);
      ownStop.abort();
    });

    it('deliver destroy when a Pod is removed', async () => {
      const id = `${ns}/${managedBy}-after-break`;
      await runtime.retire(id, 0);
      await eventually('a destroy event', sawEvent('destroy', id));
    });
  });
});
