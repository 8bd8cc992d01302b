// An in-process Kubernetes API server for tests (plain HTTP on 127.0.0.1, a
// random port, bearer-token auth), faithful to the documented API semantics
// berth relies on, so the same tests also pass against a real cluster.
// See README.md beside this file for what is and is not implemented.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JsonObject } from './json.js';
import { ApiServerCore, type ExecHandler, type Fault, type PodPhase, type PodStatusOptions, type RequestLogEntry, type TestApiServerOptions } from './server.js';
import { selfSignedCert } from './tls.js';

export type { ExecHandler, ExecResult, Fault, PodPhase, PodStatusOptions, RequestLogEntry, TestApiServerOptions } from './server.js';
export type { Status, StatusCause, StatusDetails } from './errors.js';

export interface TestApiServerControl {
  /** Every request received, in order: {method, path, query, status}. */
  readonly requests: RequestLogEntry[];
  /** Ends every open watch stream abruptly (socket destroyed mid-stream). */
  breakWatches(): void;
  /**
   * The watches open now send nothing for ms (or ever): a silently stalled
   * connection. Events held back are delivered when a finite stall ends.
   * Watches opened later are not affected.
   */
  stallWatches(ms: number | 'forever'): void;
  /** Compacts history: later watches (and exact/continued lists) from an older resourceVersion get 410 Expired. */
  compactBefore(resourceVersion: string | number): void;
  /** The current (latest) resourceVersion. */
  resourceVersion(): string;
  /** Number of watch streams open now. */
  watchCount(): number;
  /**
   * Plays the kubelet: schedules the Pod (spec.nodeName) if needed and writes
   * a status for the phase (conditions Ready/ContainersReady = ready,
   * containerStatuses, podIP, startTime). Emits MODIFIED. Returns the stored Pod.
   */
  setPodPhase(namespace: string, name: string, phase: PodPhase, ready: boolean, opts?: PodStatusOptions): JsonObject;
  /** Text served by pods/{name}/log (container defaults to the first). */
  setPodLog(namespace: string, name: string, text: string, container?: string): void;
  /** Appends log text; followers (follow=true) receive it at once. */
  appendPodLog(namespace: string, name: string, text: string, container?: string): void;
  /** Completes a graceful Pod deletion now (with podTerminationDelayMs: 'manual'). */
  finishPodTermination(namespace: string, name: string): void;
  /** Answers pods/{name}/exec; without one, exec ends with a Failure status. */
  setExecHandler(handler: ExecHandler | undefined): void;
  /** Answers matching requests with an error Status (e.g. 429 + Retry-After); returns a remover. */
  injectFault(fault: Fault): () => void;
  /** The object at an API path (or the items of a collection path), as served, without auth. */
  get(path: string): JsonObject | JsonObject[] | undefined;
}

export interface TestApiServer {
  /** http://127.0.0.1:PORT, or https:// with tls. */
  url: string;
  /** With tls: the server's self-signed certificate (PEM), also the kubeconfig's certificate-authority-data. */
  caCert: string | undefined;
  /** A kubeconfig file (context "berth-test", namespace default) for KubeConfig.loadFromFile. */
  kubeconfigPath: string;
  token: string;
  control: TestApiServerControl;
  close(): Promise<void>;
}

export async function startTestApiServer(opts: TestApiServerOptions = {}): Promise<TestApiServer> {
  const core = new ApiServerCore(opts);
  const handler = (req: Parameters<typeof core.handle>[0], res: Parameters<typeof core.handle>[1]) => {
    void core.handle(req, res);
  };
  // TLS: client-go (kubectl) sends the kubeconfig's token only over https.
  const tls = opts.tls ? selfSignedCert() : undefined;
  const server: Server = tls ? createTlsServer({ cert: tls.cert, key: tls.key }, handler) : createServer(handler);
  server.on('upgrade', (req, socket, head) => {
    void core.handleUpgrade(req, socket, head);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  const dir = await mkdtemp(join(tmpdir(), 'berth-kube-'));
  const kubeconfigPath = join(dir, 'kubeconfig');
  const kubeconfig = {
    apiVersion: 'v1',
    kind: 'Config',
    // client-node 1.x refuses an http:// server unless insecure-skip-tls-verify is set.
    clusters: [
      {
        name: 'berth-test',
        cluster: tls ? { server: url, 'certificate-authority-data': Buffer.from(tls.cert).toString('base64') } : { server: url, 'insecure-skip-tls-verify': true },
      },
    ],
    users: [{ name: 'berth-test', user: { token: core.token } }],
    contexts: [{ name: 'berth-test', context: { cluster: 'berth-test', user: 'berth-test', namespace: 'default' } }],
    'current-context': 'berth-test',
  };
  await writeFile(kubeconfigPath, JSON.stringify(kubeconfig, null, 2), { mode: 0o600 });

  const control: TestApiServerControl = {
    requests: core.requests,
    breakWatches: () => core.breakWatches(),
    stallWatches: (ms) => core.stallWatches(ms),
    compactBefore: (rv) => core.store.compactBefore(Number(rv)),
    resourceVersion: () => String(core.store.currentRV),
    watchCount: () => core.watchCount(),
    setPodPhase: (ns, name, phase, ready, o) => core.setPodPhase(ns, name, phase, ready, o),
    setPodLog: (ns, name, text, c) => core.setPodLog(ns, name, text, c),
    appendPodLog: (ns, name, text, c) => core.appendPodLog(ns, name, text, c),
    finishPodTermination: (ns, name) => core.finishPodTermination(ns, name),
    setExecHandler: (h) => core.setExecHandler(h),
    injectFault: (f) => core.injectFault(f),
    get: (path) => core.getPath(path),
  };

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      core.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await rm(dir, { recursive: true, force: true });
    })();
    return closing;
  };

  return { url, caCert: tls?.cert, kubeconfigPath, token: core.token, control, close };
}
