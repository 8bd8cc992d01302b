// The request handling of the test API server: routing, the REST verbs with
// the apiserver's generic-registry semantics, list/watch, output negotiation
// (Tables: table.ts), discovery, OpenAPI (openapi.ts), pod log and exec, and
// the hooks the control uses.
import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import {
  CORE_EVENTS,
  CRD_CLEANUP_FINALIZER,
  CRDS,
  EVENTS_V1,
  LEASES,
  NAMESPACES,
  PODS,
  crdInfo,
  customResourceTypes,
  dnsSubdomainErrors,
} from './builtins.js';
import {
  ApiError,
  CONFLICT_MODIFIED,
  alreadyExists,
  apiError,
  badRequest,
  conflict,
  expired,
  failure,
  forbidden,
  invalid,
  methodNotAllowed,
  notAcceptableError,
  notFound,
  resourceNotFound,
  unsupportedMediaType,
  type FieldError,
} from './errors.js';
import { arr, clone, deepEqual, isObject, num, obj, str, type Json, type JsonObject } from './json.js';
import { jsonPatch, mergePatch, strategicMergePatch } from './patch.js';
import { gv, type ResourceType } from './resource-type.js';
import { OBJECT_META_FIELDS, pruneMetadata } from './schema.js';
import { isLabelValue, isQualifiedName, matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector } from './selectors.js';
import { Store, type HistoryEntry, type StoreWatcher } from './store.js';
import { timeNow } from './times.js';
import { WatchStream } from './watch-stream.js';
import { acceptWebSocket } from './websocket.js';
import { checkJsonAccepted, openApiV2, openApiV3Document, openApiV3Index } from './openapi.js';
import { asTable, DEFAULT_CONVERTOR, includeObjectParam, negotiateOutput, partialObjectMetadata, type Output } from './table.js';

export interface TestApiServerOptions {
  /** Bearer token clients must send (default "berth-test-token"). */
  token?: string;
  /** Period of BOOKMARK events on watches with allowWatchBookmarks=true (default 1000 ms). */
  bookmarkIntervalMs?: number;
  /** Namespaces to create besides default, kube-system, kube-public, kube-node-lease. */
  namespaces?: string[];
  /**
   * How long the fake kubelet takes to finish a graceful Pod deletion (a Pod
   * that was scheduled, i.e. has spec.nodeName, and is not finished): default
   * 20 ms; 'manual' leaves it Terminating until control.finishPodTermination.
   */
  podTerminationDelayMs?: number | 'manual';
  /** Delay before a new CRD is Established and its resources served (default 0). */
  crdEstablishDelayMs?: number;
  /** Keep at most this many history events (older ones are compacted). Default: all. */
  historyLimit?: number;
  /** The first resourceVersion is this + 1 (default 100). */
  startResourceVersion?: number;
  /**
   * Serve https with a fresh self-signed certificate (the kubeconfig carries it
   * as certificate-authority-data). Needed by kubectl, which sends a token only
   * over TLS. Default: plain http.
   */
  tls?: boolean;
}

export interface RequestLogEntry {
  method: string;
  path: string;
  query: Record<string, string | string[]>;
  /** HTTP status sent (set when the response is finished; 101 for exec). */
  status?: number;
}

export interface ExecResult {
  stdout?: string | Buffer;
  stderr?: string | Buffer;
  exitCode: number;
}

export type ExecHandler = (namespace: string, pod: string, container: string, command: string[], stdin: Buffer | undefined) => ExecResult | Promise<ExecResult>;

export interface Fault {
  method?: string;
  /** Substring of the path, or a RegExp tested against path + query string. */
  path?: string | RegExp;
  /** Only watch requests (true) or only non-watch requests (false). */
  watch?: boolean;
  status: number;
  reason?: string;
  message?: string;
  retryAfterSeconds?: number;
  /** How many requests it answers (default 1; Infinity for all until removed). */
  times?: number;
}

export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';

export interface PodStatusOptions {
  exitCode?: number;
  reason?: string;
  message?: string;
  restartCount?: number;
  podIP?: string;
  nodeName?: string;
}

interface Route {
  rt: ResourceType;
  namespace: string | undefined;
  name: string | undefined;
  sub: string | undefined;
  legacyWatch: boolean;
}

type Query = URLSearchParams;

const DEFAULT_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];
const GENERATE_CHARS = 'bcdfghjklmnpqrstvwxz2456789';
const MAX_BODY = 3 * 1024 * 1024;
const NODE_NAME = 'berth-test-node';

export class ApiServerCore {
  readonly store: Store;
  readonly requests: RequestLogEntry[] = [];
  readonly token: string;
  private readonly types: ResourceType[] = [];
  /** Open watch streams and the storage each one watches. */
  private readonly streams = new Map<WatchStream, string>();
  private readonly logs = new Map<string, string>();
  private readonly logFollowers = new Set<{ key: string; res: ServerResponse }>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly upgraded = new Set<Duplex>();
  private readonly faults: (Fault & { times: number })[] = [];
  private execHandler: ExecHandler | undefined;
  private readonly bookmarkIntervalMs: number;
  private readonly podTerminationDelayMs: number | 'manual';
  private readonly crdEstablishDelayMs: number;
  private closed = false;
  private podIpCounter = 10;

  constructor(opts: TestApiServerOptions = {}) {
    this.token = opts.token ?? 'berth-test-token';
    this.bookmarkIntervalMs = opts.bookmarkIntervalMs ?? 1000;
    this.podTerminationDelayMs = opts.podTerminationDelayMs ?? 20;
    this.crdEstablishDelayMs = opts.crdEstablishDelayMs ?? 0;
    this.store = new Store(opts.startResourceVersion ?? 100, opts.historyLimit ?? Number.POSITIVE_INFINITY);
    this.types.push(NAMESPACES, PODS, CORE_EVENTS, EVENTS_V1, LEASES, CRDS);
    for (const ns of [...DEFAULT_NAMESPACES, ...(opts.namespaces ?? [])]) {
      if (this.store.get(NAMESPACES.storeKey, undefined, ns)) continue;
      const o: JsonObject = { metadata: { name: ns } };
      this.createStored(NAMESPACES, undefined, o);
    }
  }

  // ---------------- lifecycle / control ----------------

  close(): void {
    this.closed = true;
    for (const s of [...this.streams.keys()]) s.end();
    for (const f of [...this.logFollowers]) f.res.end();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const s of this.upgraded) s.destroy();
  }

  breakWatches(): void {
    for (const s of [...this.streams.keys()]) s.break();
  }

  stallWatches(ms: number | 'forever'): void {
    for (const s of this.streams.keys()) s.stall(ms);
  }

  watchCount(): number {
    return this.streams.size;
  }

  setExecHandler(h: ExecHandler | undefined): void {
    this.execHandler = h;
  }

  injectFault(fault: Fault): () => void {
    const f = { ...fault, times: fault.times ?? 1 };
    this.faults.push(f);
    return () => {
      const i = this.faults.indexOf(f);
      if (i >= 0) this.faults.splice(i, 1);
    };
  }

  private later(ms: number, fn: () => void): void {
    if (this.closed) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.closed) fn();
    }, ms);
    this.timers.add(t);
  }

  /** The object (or list items) at an API path, as a GET would return it, bypassing auth and faults. */
  getPath(path: string): JsonObject | JsonObject[] | undefined {
    const route = this.route(path.split('?')[0]!);
    if (!route || typeof route === 'function') return undefined;
    if (route.name) {
      const o = this.store.get(route.rt.storeKey, route.namespace, route.name);
      return o ? this.present(route.rt, o) : undefined;
    }
    return this.store
      .list(route.rt.storeKey)
      .filter(([k]) => route.namespace === undefined || k.startsWith(`${route.namespace}/`))
      .map(([, o]) => this.present(route.rt, o));
  }

  setPodPhase(namespace: string, name: string, phase: PodPhase, ready: boolean, opts: PodStatusOptions = {}): JsonObject {
    const old = this.store.get(PODS.storeKey, namespace, name);
    if (!old) throw new Error(`setPodPhase: pod ${namespace}/${name} does not exist`);
    const next = clone(old);
    const spec = next['spec'] as JsonObject;
    if (!str(spec, 'nodeName')) spec['nodeName'] = opts.nodeName ?? NODE_NAME;
    const oldStatus = obj(old, 'status') ?? {};
    const now = timeNow();
    const oldConditions = (arr(oldStatus, 'conditions') ?? []).filter(isObject);
    const cond = (type: string, value: boolean): JsonObject => {
      const status = value ? 'True' : 'False';
      const prev = oldConditions.find((c) => c['type'] === type);
      return { type, status, lastProbeTime: null, lastTransitionTime: prev && prev['status'] === status ? (prev['lastTransitionTime'] ?? now) : now };
    };
    const started = phase !== 'Pending';
    const containers = (arr(spec, 'containers') ?? []).filter(isObject);
    const oldStatuses = (arr(oldStatus, 'containerStatuses') ?? []).filter(isObject);
    const startTime = str(oldStatus, 'startTime') ?? now;
    const podIP = opts.podIP ?? str(oldStatus, 'podIP') ?? `10.244.0.${this.podIpCounter++}`;
    const status: JsonObject = {
      phase,
      conditions: [cond('PodReadyToStartContainers', started), cond('Initialized', true), cond('Ready', ready), cond('ContainersReady', ready), cond('PodScheduled', true)],
      hostIP: '10.0.0.1',
      hostIPs: [{ ip: '10.0.0.1' }],
      podIP,
      podIPs: [{ ip: podIP }],
      startTime,
      containerStatuses: containers.map((c) => {
        const prev = oldStatuses.find((s) => s['name'] === c['name']);
        const containerID = str(prev, 'containerID') ?? `containerd://${randomBytes(32).toString('hex')}`;
        const startedAt = str(obj(obj(prev, 'state'), 'running'), 'startedAt') ?? now;
        let state: JsonObject;
        if (phase === 'Pending') state = { waiting: { reason: opts.reason ?? 'ContainerCreating' } };
        else if (phase === 'Running' || phase === 'Unknown') state = { running: { startedAt } };
        else {
          const exitCode = opts.exitCode ?? (phase === 'Succeeded' ? 0 : 1);
          const t: JsonObject = { exitCode, reason: opts.reason ?? (exitCode === 0 ? 'Completed' : 'Error'), startedAt, finishedAt: now, containerID };
          if (opts.message) t['message'] = opts.message;
          state = { terminated: t };
        }
        const cs: JsonObject = {
          name: c['name'] ?? '',
          state,
          lastState: {},
          ready,
          restartCount: opts.restartCount ?? num(prev, 'restartCount') ?? 0,
          image: c['image'] ?? '',
          imageID: `${String(c['image'] ?? '')}@sha256:${'0'.repeat(64)}`,
          started: phase === 'Running',
        };
        if (phase !== 'Pending') cs['containerID'] = containerID;
        return cs;
      }),
      qosClass: oldStatus['qosClass'] ?? 'BestEffort',
    };
    if (opts.message && phase === 'Failed') status['message'] = opts.message;
    next['status'] = status;
    return this.store.commit(PODS.storeKey, namespace, name, 'MODIFIED', next);
  }

  setPodLog(namespace: string, name: string, text: string, container?: string): void {
    const c = container ?? this.onlyContainer(namespace, name);
    this.logs.set(`${namespace}/${name}/${c}`, text);
  }

  appendPodLog(namespace: string, name: string, text: string, container?: string): void {
    const c = container ?? this.onlyContainer(namespace, name);
    const key = `${namespace}/${name}/${c}`;
    this.logs.set(key, (this.logs.get(key) ?? '') + text);
    for (const f of this.logFollowers) if (f.key === key) f.res.write(text);
  }

  private onlyContainer(namespace: string, name: string): string {
    const pod = this.store.get(PODS.storeKey, namespace, name);
    const first = (arr(obj(pod, 'spec'), 'containers') ?? []).find(isObject);
    return str(first, 'name') ?? '';
  }

  finishPodTermination(namespace: string, name: string): void {
    const pod = this.store.get(PODS.storeKey, namespace, name);
    if (!pod || !str(pod['metadata'], 'deletionTimestamp')) return;
    this.deleteStored(PODS, pod, 0, false);
  }

  // ---------------- HTTP entry points ----------------

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const entry: RequestLogEntry = { method: req.method ?? 'GET', path: url.pathname, query: queryRecord(url.searchParams) };
    this.requests.push(entry);
    res.on('close', () => (entry.status = res.statusCode));
    try {
      if (['/healthz', '/livez', '/readyz'].includes(url.pathname)) {
        res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
        return;
      }
      this.authenticate(req);
      this.checkFaults(entry.method, url);
      const body = await readBody(req);
      await this.dispatch(req, res, url, body);
    } catch (e) {
      this.sendError(res, e);
    }
  }

  async handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const entry: RequestLogEntry = { method: req.method ?? 'GET', path: url.pathname, query: queryRecord(url.searchParams) };
    this.requests.push(entry);
    this.upgraded.add(socket);
    socket.on('close', () => this.upgraded.delete(socket));
    socket.on('error', () => undefined);
    const fail = (e: unknown) => {
      const status = e instanceof ApiError ? e.status : failure(500, 'InternalError', String(e));
      entry.status = status.code;
      const body = JSON.stringify(status);
      socket.end(`HTTP/1.1 ${status.code} ${statusText(status.code)}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    };
    try {
      this.authenticate(req);
      this.checkFaults(entry.method, url);
      const route = this.route(url.pathname);
      if (!route || typeof route === 'function' || route.rt !== PODS || route.sub !== 'exec' || !route.name || !route.namespace) throw resourceNotFound();
      const ns = route.namespace;
      const podName = route.name;
      const pod = this.store.get(PODS.storeKey, ns, podName);
      if (!pod) throw notFound(PODS, podName);
      const container = this.containerFor(pod, podName, url.searchParams.get('container'));
      const phase = str(pod['status'], 'phase');
      if (phase === 'Succeeded' || phase === 'Failed') throw badRequest(`cannot exec into a container in a completed pod; current phase is ${phase}`);
      if (phase !== 'Running') throw badRequest(`unable to upgrade connection: container not found ("${container}")`);
      const command = url.searchParams.getAll('command');
      if (command.length === 0) throw badRequest('you must specify at least 1 command');
      const ws = acceptWebSocket(req, socket, head, ['v5.channel.k8s.io', 'v4.channel.k8s.io']);
      if (!ws) throw badRequest('unable to upgrade connection: none of the offered subprotocols (v4.channel.k8s.io, v5.channel.k8s.io are served) was requested');
      entry.status = 101;
      const wantStdin = url.searchParams.get('stdin') === 'true' || url.searchParams.get('stdin') === '1';
      const wantStdout = url.searchParams.get('stdout') !== 'false' && url.searchParams.get('stdout') !== '0';
      const wantStderr = url.searchParams.get('stderr') !== 'false' && url.searchParams.get('stderr') !== '0';
      const firstChannel = wantStdout ? 1 : wantStderr ? 2 : 3;
      ws.sendBinary(Buffer.from([firstChannel]));
      const stdinChunks: Buffer[] = [];
      let stdinDone: () => void = () => undefined;
      const stdinEnded = new Promise<void>((resolve) => (stdinDone = resolve));
      let clientGone = false;
      ws.onMessage((data) => {
        const channel = data[0];
        if (channel === 0) stdinChunks.push(Buffer.from(data.subarray(1)));
        else if (channel === 255 && data[1] === 0) stdinDone();
      });
      ws.onClose(() => {
        clientGone = true;
        stdinDone();
      });
      if (wantStdin) await stdinEnded;
      let statusJson: JsonObject;
      let stdout: Buffer = Buffer.alloc(0);
      let stderr: Buffer = Buffer.alloc(0);
      if (!this.execHandler) {
        statusJson = { metadata: {}, status: 'Failure', message: 'no exec handler is registered in the test API server (control.setExecHandler)', reason: 'InternalError', code: 500 };
      } else {
        try {
          const r = await this.execHandler(ns, podName, container, command, wantStdin ? Buffer.concat(stdinChunks) : undefined);
          stdout = Buffer.from(r.stdout ?? '');
          stderr = Buffer.from(r.stderr ?? '');
          statusJson =
            r.exitCode === 0
              ? { metadata: {}, status: 'Success' }
              : {
                  metadata: {},
                  status: 'Failure',
                  message: `command terminated with non-zero exit code: error executing command [${command.join(' ')}], exit code ${r.exitCode}`,
                  reason: 'NonZeroExitCode',
                  details: { causes: [{ reason: 'ExitCode', message: String(r.exitCode) }] },
                };
        } catch (e) {
          statusJson = { metadata: {}, status: 'Failure', message: e instanceof Error ? e.message : String(e), reason: 'InternalError', code: 500 };
        }
      }
      if (clientGone) return;
      if (wantStdout && stdout.length > 0) ws.sendBinary(Buffer.concat([Buffer.from([1]), stdout]));
      if (wantStderr && stderr.length > 0) ws.sendBinary(Buffer.concat([Buffer.from([2]), stderr]));
      ws.sendBinary(Buffer.concat([Buffer.from([3]), Buffer.from(JSON.stringify(statusJson))]));
      ws.close(1000);
    } catch (e) {
      fail(e);
    }
  }

  private authenticate(req: IncomingMessage): void {
    if (req.headers.authorization !== `Bearer ${this.token}`) throw apiError(401, 'Unauthorized', 'Unauthorized');
  }

  private checkFaults(method: string, url: URL): void {
    const isWatch = ['true', '1'].includes(url.searchParams.get('watch') ?? '') || url.pathname.includes('/watch/');
    const f = this.faults.find(
      (f) =>
        (f.method === undefined || f.method.toUpperCase() === method) &&
        (f.watch === undefined || f.watch === isWatch) &&
        (f.path === undefined || (typeof f.path === 'string' ? url.pathname.includes(f.path) : f.path.test(url.pathname + url.search))),
    );
    if (!f) return;
    f.times -= 1;
    if (f.times <= 0) this.faults.splice(this.faults.indexOf(f), 1);
    const reasons: Record<number, string> = { 429: 'TooManyRequests', 500: 'InternalError', 503: 'ServiceUnavailable', 504: 'Timeout', 409: 'Conflict', 404: 'NotFound', 403: 'Forbidden' };
    const headers: Record<string, string> = {};
    if (f.retryAfterSeconds !== undefined) headers['Retry-After'] = String(f.retryAfterSeconds);
    throw apiError(f.status, f.reason ?? reasons[f.status] ?? 'InternalError', f.message ?? `injected fault: ${f.status}`, f.retryAfterSeconds !== undefined ? { retryAfterSeconds: f.retryAfterSeconds } : {}, headers);
  }

  private sendError(res: ServerResponse, e: unknown): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (e instanceof ApiError) {
      this.sendJson(res, e.status.code, e.status, e.headers);
    } else {
      this.sendJson(res, 500, failure(500, 'InternalError', `test API server error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`));
    }
  }

  private sendJson(res: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
    const text = JSON.stringify(body);
    res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(text)), ...headers });
    res.end(text);
  }

  // ---------------- routing ----------------

  private findType(group: string, version: string, resource: string): ResourceType | undefined {
    return this.types.find((t) => t.group === group && t.version === version && t.resource === resource);
  }

  /** A resource route, a discovery responder, or undefined (404). */
  private route(pathname: string): Route | (() => unknown) | undefined {
    const segs = pathname.split('/').filter(Boolean).map(decodeURIComponent);
    let group: string;
    let version: string;
    let rest: string[];
    if (segs[0] === 'api') {
      if (segs.length === 1) return () => ({ kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1' }] });
      if (segs[1] !== 'v1') return undefined;
      group = '';
      version = 'v1';
      rest = segs.slice(2);
    } else if (segs[0] === 'apis') {
      if (segs.length === 1) return () => this.groupList();
      if (segs.length === 2) {
        const g = this.groupList().groups.find((x) => x.name === segs[1]);
        return g ? () => ({ kind: 'APIGroup', apiVersion: 'v1', ...g }) : undefined;
      }
      group = segs[1]!;
      version = segs[2]!;
      rest = segs.slice(3);
    } else if (segs[0] === 'version' && segs.length === 1) {
      return () => ({ major: '1', minor: '33', gitVersion: 'v1.33.0-berth-test', platform: `${process.platform}/${process.arch}` });
    } else {
      return undefined;
    }
    if (!this.types.some((t) => t.group === group && t.version === version)) return undefined;
    if (rest.length === 0) return () => this.resourceList(group, version);
    let legacyWatch = false;
    if (rest[0] === 'watch') {
      legacyWatch = true;
      rest = rest.slice(1);
    }
    let namespace: string | undefined;
    if (rest[0] === 'namespaces' && rest.length >= 3 && rest[2] !== 'status' && rest[2] !== 'finalize') {
      namespace = rest[1];
      rest = rest.slice(2);
    }
    const [resource, name, sub, ...extra] = rest;
    if (!resource || extra.length > 0) return undefined;
    const rt = this.findType(group, version, resource);
    if (!rt) return undefined;
    if (namespace !== undefined && !rt.namespaced) return undefined;
    if (namespace === undefined && rt.namespaced && name !== undefined) return undefined;
    if (sub !== undefined && !rt.subresources.includes(sub)) return undefined;
    return { rt, namespace, name, sub, legacyWatch };
  }

  private groupList(): { kind: string; apiVersion: string; groups: { name: string; versions: { groupVersion: string; version: string }[]; preferredVersion: { groupVersion: string; version: string } }[] } {
    const groups = new Map<string, string[]>();
    for (const t of this.types) {
      if (!t.group) continue;
      const vs = groups.get(t.group) ?? [];
      if (!vs.includes(t.version)) vs.push(t.version);
      groups.set(t.group, vs);
    }
    return {
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: [...groups.entries()].map(([name, versions]) => ({
        name,
        versions: versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v })),
        preferredVersion: { groupVersion: `${name}/${versions[0]}`, version: versions[0]! },
      })),
    };
  }

  private resourceList(group: string, version: string): JsonObject {
    const resources: Json[] = [];
    for (const t of this.types.filter((x) => x.group === group && x.version === version)) {
      const r: JsonObject = { name: t.resource, singularName: t.singular, namespaced: t.namespaced, kind: t.kind, verbs: t.verbs };
      if (t.shortNames.length > 0) r['shortNames'] = t.shortNames;
      if (t.categories.length > 0) r['categories'] = t.categories;
      resources.push(r);
      for (const s of t.subresources) {
        const verbs = s === 'status' ? ['get', 'patch', 'update'] : s === 'log' ? ['get'] : s === 'exec' ? ['create', 'get'] : ['update'];
        resources.push({ name: `${t.resource}/${s}`, singularName: '', namespaced: t.namespaced, kind: s === 'exec' ? 'PodExecOptions' : s === 'log' ? 'Pod' : t.kind, verbs });
      }
    }
    return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group ? `${group}/${version}` : version, resources };
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse, url: URL, rawBody: Buffer): Promise<void> {
    if (url.pathname === '/openapi/v2' || url.pathname === '/openapi/v3' || url.pathname.startsWith('/openapi/v3/')) return this.openApi(req, res, url);
    const route = this.route(url.pathname);
    if (!route) throw resourceNotFound();
    const method = req.method ?? 'GET';
    if (typeof route === 'function') {
      if (method !== 'GET') throw methodNotAllowed();
      this.sendJson(res, 200, route());
      return;
    }
    const q = url.searchParams;
    const { rt, namespace, name, sub } = route;
    const isWatch = route.legacyWatch || q.get('watch') === 'true' || q.get('watch') === '1';
    const contentType = String(req.headers['content-type'] ?? 'application/json').split(';')[0]!.trim().toLowerCase();
    const dryRun = parseDryRun(q);
    switch (method) {
      case 'GET': {
        if (sub === 'log') return this.podLog(namespace!, name!, q, res);
        if (sub === 'exec') throw badRequest('Upgrade request required');
        const output = negotiateOutput(req.headers.accept, isWatch);
        if (name === undefined) {
          if (isWatch) return this.watch(rt, namespace, q, res, output);
          const { list, stored } = this.listWithStored(rt, namespace, q);
          return this.sendOutput(res, output, this.render(rt, output, q, stored, list));
        }
        if (isWatch) {
          // A watch on one object: the collection watch with a name field selector.
          const fs = q.get('fieldSelector');
          q.set('fieldSelector', fs ? `${fs},metadata.name=${name}` : `metadata.name=${name}`);
          return this.watch(rt, namespace, q, res, output);
        }
        const stored = this.getOr404(rt, namespace, name);
        return this.sendOutput(res, output, this.render(rt, output, q, [stored], undefined));
      }
      case 'POST':
        if (name !== undefined) {
          if (sub === 'exec') throw badRequest('Upgrade request required');
          throw methodNotAllowed();
        }
        if (rt.namespaced && namespace === undefined) throw methodNotAllowed();
        {
          const { code, body } = this.create(rt, namespace, decodeBody(rawBody, contentType), q, dryRun, res);
          return this.sendJson(res, code, body, warningHeaders(res));
        }
      case 'PUT': {
        if (name === undefined || (sub !== undefined && sub !== 'status')) throw methodNotAllowed();
        const { code, body } = this.update(rt, namespace, name, decodeBody(rawBody, contentType), sub, q, dryRun, res);
        return this.sendJson(res, code, body, warningHeaders(res));
      }
      case 'PATCH': {
        if (name === undefined || (sub !== undefined && sub !== 'status')) throw methodNotAllowed();
        const body = this.patch(rt, namespace, name, rawBody, contentType, sub, q, dryRun, res);
        return this.sendJson(res, 200, body, warningHeaders(res));
      }
      case 'DELETE': {
        if (sub !== undefined) throw methodNotAllowed();
        const opts = deleteOptions(rawBody, q);
        if (name === undefined) return this.sendJson(res, 200, this.deleteCollection(rt, namespace, q, opts, dryRun));
        return this.sendJson(res, 200, this.delete(rt, namespace, name, opts, dryRun));
      }
      default:
        throw methodNotAllowed();
    }
  }

  // ---------------- object helpers ----------------

  private getOr404(rt: ResourceType, namespace: string | undefined, name: string): JsonObject {
    const o = this.store.get(rt.storeKey, namespace, name);
    if (!o) throw notFound(rt, name);
    return o;
  }

  /** Stored form -> the response shape of rt's version. */
  present(rt: ResourceType, stored: JsonObject, withTypeMeta = true): JsonObject {
    const ext = rt.toExternal ? rt.toExternal(stored) : clone(stored);
    delete ext['apiVersion'];
    delete ext['kind'];
    return withTypeMeta ? { apiVersion: gv(rt), kind: rt.kind, ...ext } : ext;
  }

  private typeForStore(storeKey: string): ResourceType | undefined {
    return this.types.find((t) => t.storeKey === storeKey);
  }

  /**
   * Request body -> stored-form candidate: type meta checked, metadata pruned
   * to ObjectMeta, namespace checked, custom resources pruned and defaulted.
   */
  private decode(rt: ResourceType, body: Json, namespace: string | undefined, q: Query, res: ServerResponse): JsonObject {
    if (!isObject(body)) throw badRequest(`the body of the request must be a JSON object (got ${body === null ? 'null' : Array.isArray(body) ? 'an array' : typeof body})`);
    const ext = clone(body);
    const want = gv(rt);
    const av = ext['apiVersion'];
    const kind = ext['kind'];
    if (rt.custom) {
      if (typeof kind !== 'string' || kind === '') throw badRequest(`Object 'Kind' is missing in '${JSON.stringify(body)}'`);
      if (typeof av !== 'string' || av === '') throw badRequest(`Object 'apiVersion' is missing in '${JSON.stringify(body)}'`);
    }
    if (av !== undefined && av !== '' && av !== want) throw badRequest(`the API version in the data (${String(av)}) does not match the expected API version (${want})`);
    if (kind !== undefined && kind !== '' && kind !== rt.kind) throw badRequest(`the kind in the data (${String(kind)}) does not match the expected kind (${rt.kind})`);
    ext['apiVersion'] = want;
    ext['kind'] = rt.kind;
    const meta = pruneMetadata(ext['metadata']);
    for (const m of ['labels', 'annotations'] as const) {
      const map = meta[m];
      if (map === undefined || map === null) continue;
      if (!isObject(map) || Object.values(map).some((v) => typeof v !== 'string')) {
        throw badRequest(`${rt.kind} in version "${rt.version}" cannot be handled as a ${rt.kind}: json: cannot unmarshal into Go struct field ObjectMeta.metadata.${m} of type map[string]string`);
      }
    }
    const bodyNs = str(meta, 'namespace');
    if (rt.namespaced) {
      if (bodyNs && namespace !== undefined && bodyNs !== namespace) throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      if (namespace !== undefined) meta['namespace'] = namespace;
    } else {
      delete meta['namespace'];
    }
    ext['metadata'] = meta;
    if (rt.admit) {
      const { pruned } = rt.admit(ext);
      const validation = q.get('fieldValidation') ?? 'Warn';
      if (pruned.length > 0 && validation === 'Strict') {
        throw badRequest(`strict decoding error: ${pruned.map((p) => `unknown field "${p}"`).join(', ')}`);
      }
      if (pruned.length > 0 && validation !== 'Ignore') addWarnings(res, pruned.map((p) => `unknown field "${p}"`));
    }
    delete ext['apiVersion'];
    delete ext['kind'];
    return rt.toInternal ? rt.toInternal(ext) : ext;
  }

  private checkNamespace(rt: ResourceType, namespace: string | undefined, name: string): void {
    if (!rt.namespaced || namespace === undefined) return;
    const ns = this.store.get(NAMESPACES.storeKey, undefined, namespace);
    if (!ns) throw notFound(NAMESPACES, namespace);
    if (str(ns['metadata'], 'deletionTimestamp')) {
      throw forbidden(rt, name, `unable to create new content in namespace ${namespace} because it is being terminated`);
    }
  }

  private validateMeta(rt: ResourceType, o: JsonObject): FieldError[] {
    const errs: FieldError[] = [];
    const meta = obj(o, 'metadata') ?? {};
    const name = str(meta, 'name') ?? '';
    if (rt !== NAMESPACES && rt !== CRDS) errs.push(...dnsSubdomainErrors(name, 'metadata.name'));
    for (const [k, v] of Object.entries(obj(meta, 'labels') ?? {})) {
      if (!isQualifiedName(k)) errs.push({ type: 'Invalid', field: 'metadata.labels', value: k, detail: `name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')` });
      if (typeof v === 'string' && !isLabelValue(v)) errs.push({ type: 'Invalid', field: 'metadata.labels', value: v, detail: `a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')` });
    }
    let annotationBytes = 0;
    for (const [k, v] of Object.entries(obj(meta, 'annotations') ?? {})) {
      if (!isQualifiedName(k.toLowerCase())) errs.push({ type: 'Invalid', field: 'metadata.annotations', value: k, detail: "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character" });
      annotationBytes += k.length + String(v).length;
    }
    if (annotationBytes > 256 * 1024) errs.push({ type: 'TooLong', field: 'metadata.annotations', detail: 'may not be more than 262144 bytes' });
    (arr(meta, 'finalizers') ?? []).forEach((f, i) => {
      if (typeof f !== 'string' || !isQualifiedName(f)) errs.push({ type: 'Invalid', field: `metadata.finalizers[${i}]`, value: f, detail: "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character" });
    });
    (arr(meta, 'ownerReferences') ?? []).forEach((r) => {
      for (const k of ['apiVersion', 'kind', 'name', 'uid']) {
        if (!str(r, k)) errs.push({ type: 'Invalid', field: `metadata.ownerReferences.${k}`, value: '', detail: `${k} must not be empty` });
      }
    });
    return errs;
  }

  // ---------------- create ----------------

  private create(rt: ResourceType, namespace: string | undefined, body: Json, q: Query, dryRun: boolean, res: ServerResponse): { code: number; body: JsonObject } {
    const o = this.decode(rt, body, namespace, q, res);
    const meta = o['metadata'] as JsonObject;
    if (str(meta, 'resourceVersion')) throw badRequest('resourceVersion should not be set on objects to be created');
    const nameForErrors = str(meta, 'name') ?? str(meta, 'generateName') ?? '';
    this.checkNamespace(rt, namespace, nameForErrors);
    const stored = this.createStored(rt, namespace, o, dryRun, gv(rt));
    return { code: 201, body: this.present(rt, stored) };
  }

  /** Create with server-set fields, defaults, validation; commits unless dryRun. */
  private createStored(rt: ResourceType, namespace: string | undefined, o: JsonObject, dryRun = false, requestVersion = gv(rt)): JsonObject {
    const meta = o['metadata'] as JsonObject;
    let name = str(meta, 'name') ?? '';
    const generateName = str(meta, 'generateName');
    if (!name && generateName) {
      for (let i = 0; i < 10; i++) {
        const candidate = generateName + [...randomBytes(5)].map((b) => GENERATE_CHARS[b % GENERATE_CHARS.length]).join('');
        if (!this.store.get(rt.storeKey, namespace, candidate)) {
          name = candidate;
          break;
        }
      }
    }
    if (!name) throw invalid(rt.kind, rt.group, '', [{ type: 'Required', field: 'metadata.name', detail: 'name or generateName is required' }]);
    meta['name'] = name;
    if (this.store.get(rt.storeKey, namespace, name)) throw alreadyExists(rt, name);
    meta['uid'] = randomUUID();
    meta['creationTimestamp'] = timeNow();
    delete meta['deletionTimestamp'];
    delete meta['deletionGracePeriodSeconds'];
    delete meta['selfLink'];
    delete meta['managedFields'];
    delete meta['resourceVersion'];
    if (rt.hasGeneration) meta['generation'] = 1;
    else delete meta['generation'];
    rt.prepareForCreate?.(o);
    const errs = [...this.validateMeta(rt, o), ...(rt.validate?.(o, undefined, requestVersion) ?? [])];
    if (errs.length > 0) throw invalid(rt.kind, rt.group, name, errs);
    const candidate = normalizeObject(o);
    if (dryRun) return candidate;
    const stored = this.store.commit(rt.storeKey, namespace, name, 'ADDED', candidate);
    this.afterWrite(rt, stored);
    return stored;
  }

  // ---------------- update / patch ----------------

  private update(rt: ResourceType, namespace: string | undefined, name: string, body: Json, sub: string | undefined, q: Query, dryRun: boolean, res: ServerResponse): { code: number; body: JsonObject } {
    const o = this.decode(rt, body, namespace, q, res);
    const meta = o['metadata'] as JsonObject;
    const bodyName = str(meta, 'name');
    if (bodyName && bodyName !== name) throw badRequest(`the name of the object (${bodyName}) does not match the name on the URL (${name})`);
    meta['name'] = name;
    const old = this.store.get(rt.storeKey, namespace, name);
    if (!old) {
      if (!rt.allowCreateOnUpdate || sub !== undefined) throw notFound(rt, name);
      this.checkNamespace(rt, namespace, name);
      delete meta['resourceVersion'];
      return { code: 201, body: this.present(rt, this.createStored(rt, namespace, o, dryRun, gv(rt))) };
    }
    return { code: 200, body: this.present(rt, this.updateStored(rt, old, o, sub, dryRun, gv(rt))) };
  }

  private patch(rt: ResourceType, namespace: string | undefined, name: string, raw: Buffer, contentType: string, sub: string | undefined, q: Query, dryRun: boolean, res: ServerResponse): JsonObject {
    const accepted = ['application/json-patch+json', 'application/merge-patch+json', ...(rt.mergeKeys ? ['application/strategic-merge-patch+json'] : []), 'application/apply-patch+yaml'];
    if (!accepted.includes(contentType)) {
      throw unsupportedMediaType(`the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`);
    }
    if (contentType === 'application/apply-patch+yaml') {
      throw unsupportedMediaType('application/apply-patch+yaml: server-side apply is not implemented by the berth test API server; use a merge patch or an update');
    }
    let patchDoc: Json;
    try {
      patchDoc = JSON.parse(raw.toString('utf8') || 'null') as Json;
    } catch (e) {
      throw badRequest(`error decoding patch: ${e instanceof Error ? e.message : String(e)}`);
    }
    const old = this.getOr404(rt, namespace, name);
    const current = this.present(rt, old);
    let patched: Json;
    if (contentType === 'application/json-patch+json') patched = jsonPatch(current, patchDoc);
    else if (contentType === 'application/merge-patch+json') {
      if (!isObject(patchDoc)) throw badRequest('error decoding patch: a merge patch must be a JSON object');
      patched = mergePatch(current, patchDoc);
    } else patched = strategicMergePatch(current, patchDoc, rt.mergeKeys!);
    const o = this.decode(rt, patched, namespace, q, res);
    const meta = o['metadata'] as JsonObject;
    const bodyName = str(meta, 'name');
    if (bodyName !== name) throw badRequest(`the name of the object (${bodyName ?? ''}) does not match the name on the URL (${name})`);
    return this.present(rt, this.updateStored(rt, old, o, sub, dryRun, gv(rt)));
  }

  /** The generic registry's update: preconditions, strategies, validation, no-op detection, finalizer-driven deletion. */
  private updateStored(rt: ResourceType, old: JsonObject, incoming: JsonObject, sub: string | undefined, dryRun: boolean, requestVersion: string): JsonObject {
    const om = old['metadata'] as JsonObject;
    const im = incoming['metadata'] as JsonObject;
    const name = str(om, 'name') ?? '';
    const namespace = str(om, 'namespace');
    const rv = str(im, 'resourceVersion');
    if (rv && rv !== om['resourceVersion']) throw conflict(rt, name, CONFLICT_MODIFIED);
    const uid = str(im, 'uid');
    if (uid && uid !== om['uid']) throw conflict(rt, name, `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${String(om['uid'])}`);
    let next: JsonObject;
    if (sub === 'status') {
      next = clone(old);
      if (incoming['status'] !== undefined) next['status'] = clone(incoming['status']);
      else delete next['status'];
    } else {
      next = clone(incoming);
      if (rt.statusSubresource) {
        if (old['status'] !== undefined) next['status'] = clone(old['status']);
        else delete next['status'];
      }
    }
    const nm = next['metadata'] as JsonObject;
    for (const f of ['name', 'namespace', 'generateName', 'uid', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'generation', 'selfLink', 'managedFields', 'resourceVersion']) {
      if (om[f] !== undefined) nm[f] = clone(om[f]!);
      else delete nm[f];
    }
    const errs: FieldError[] = [];
    if (om['deletionTimestamp']) {
      const oldFin = (arr(om, 'finalizers') ?? []).map(String);
      const added = (arr(nm, 'finalizers') ?? []).map(String).filter((f) => !oldFin.includes(f));
      if (added.length > 0) {
        errs.push({ type: 'Forbidden', field: 'metadata.finalizers', detail: `no new finalizers can be added if the object is being deleted, found new finalizers []string{${added.map((f) => JSON.stringify(f)).join(', ')}}` });
      }
    }
    if (sub !== 'status') errs.push(...(rt.validateUpdate?.(next, old) ?? []));
    errs.push(...this.validateMeta(rt, next), ...(rt.validate?.(next, old, requestVersion) ?? []));
    if (errs.length > 0) throw invalid(rt.kind, rt.group, name, errs);
    if (rt.hasGeneration && specChanged(rt, old, next)) nm['generation'] = (num(om, 'generation') ?? 0) + 1;
    const candidate = normalizeObject(next);
    if (deepEqual(candidate, old)) return old; // no-op: no new resourceVersion, no event
    if (dryRun) return candidate;
    const finalizers = arr(nm, 'finalizers') ?? [];
    if (om['deletionTimestamp'] && finalizers.length === 0 && om['deletionGracePeriodSeconds'] === 0) {
      const stored = this.store.commit(rt.storeKey, namespace, name, 'DELETED', candidate);
      this.afterRemove(rt, stored);
      return stored;
    }
    const stored = this.store.commit(rt.storeKey, namespace, name, 'MODIFIED', candidate);
    this.afterWrite(rt, stored);
    return stored;
  }

  // ---------------- delete ----------------

  private delete(rt: ResourceType, namespace: string | undefined, name: string, opts: DeleteOpts, dryRun: boolean): JsonObject {
    const old = this.getOr404(rt, namespace, name);
    const om = old['metadata'] as JsonObject;
    if (opts.uid !== undefined && opts.uid !== om['uid']) throw conflict(rt, name, `Precondition failed: UID in precondition: ${opts.uid}, UID in object meta: ${String(om['uid'])}`);
    if (opts.resourceVersion !== undefined && opts.resourceVersion !== om['resourceVersion']) {
      throw conflict(rt, name, `Precondition failed: ResourceVersion in precondition: ${opts.resourceVersion}, ResourceVersion in meta: ${String(om['resourceVersion'])}`);
    }
    return this.present(rt, this.deleteStored(rt, old, opts.gracePeriodSeconds, dryRun));
  }

  private deleteCollection(rt: ResourceType, namespace: string | undefined, q: Query, opts: DeleteOpts, dryRun: boolean): JsonObject {
    const labels = parseLabelSelector(q.get('labelSelector') ?? undefined);
    const fields = parseFieldSelector(q.get('fieldSelector') ?? undefined, rt.fieldLabels);
    const items: Json[] = [];
    for (const [key, o] of this.store.list(rt.storeKey)) {
      if (namespace !== undefined && !key.startsWith(`${namespace}/`)) continue;
      if (!matchesLabels(labels, obj(o['metadata'], 'labels')) || !matchesFields(fields, rt.fieldsOf(o))) continue;
      items.push(this.present(rt, this.deleteStored(rt, o, opts.gracePeriodSeconds, dryRun), rt.custom));
    }
    return { kind: rt.listKind, apiVersion: gv(rt), metadata: { resourceVersion: String(this.store.currentRV) }, items };
  }

  /**
   * Deletion as the generic registry does it: graceful (pods: deletionTimestamp
   * in the future, the kubelet finishes), finalizers (deletionTimestamp, grace 0,
   * generation bumped, MODIFIED; removal when an update empties finalizers),
   * else removal (DELETED). Returns what the DELETE call answers.
   */
  private deleteStored(rt: ResourceType, old: JsonObject, requestedGrace: number | undefined, dryRun: boolean): JsonObject {
    const om = old['metadata'] as JsonObject;
    const name = str(om, 'name') ?? '';
    const namespace = str(om, 'namespace');
    if (rt.storeKey === NAMESPACES.storeKey) return this.deleteNamespace(old, dryRun);
    const grace = rt.gracePeriod ? rt.gracePeriod(old, requestedGrace) : 0;
    const finalizers = arr(om, 'finalizers') ?? [];
    const curGrace = num(om, 'deletionGracePeriodSeconds');
    if (grace > 0) {
      if (om['deletionTimestamp'] && curGrace !== undefined && curGrace <= grace) return old;
      const next = clone(old);
      const nm = next['metadata'] as JsonObject;
      if (!om['deletionTimestamp'] && typeof om['generation'] === 'number') nm['generation'] = om['generation'] + 1;
      nm['deletionTimestamp'] = timeNow(grace * 1000);
      nm['deletionGracePeriodSeconds'] = grace;
      if (dryRun) return normalizeObject(next);
      const stored = this.store.commit(rt.storeKey, namespace, name, 'MODIFIED', normalizeObject(next));
      this.scheduleKubeletTermination(namespace ?? '', name);
      return stored;
    }
    if (finalizers.length > 0) {
      if (om['deletionTimestamp'] && curGrace === 0) return old;
      const next = clone(old);
      const nm = next['metadata'] as JsonObject;
      if (!om['deletionTimestamp'] && typeof om['generation'] === 'number') nm['generation'] = om['generation'] + 1;
      const now = timeNow();
      const existing = str(om, 'deletionTimestamp');
      nm['deletionTimestamp'] = existing && existing < now ? existing : now;
      nm['deletionGracePeriodSeconds'] = 0;
      if (dryRun) return normalizeObject(next);
      const stored = this.store.commit(rt.storeKey, namespace, name, 'MODIFIED', normalizeObject(next));
      this.afterWrite(rt, stored);
      return stored;
    }
    if (dryRun) return old;
    const stored = this.store.commit(rt.storeKey, namespace, name, 'DELETED', old);
    this.afterRemove(rt, stored);
    return old;
  }

  private scheduleKubeletTermination(namespace: string, name: string): void {
    if (this.podTerminationDelayMs === 'manual') return;
    this.later(this.podTerminationDelayMs, () => this.finishPodTermination(namespace, name));
  }

  private deleteNamespace(old: JsonObject, dryRun: boolean): JsonObject {
    const om = old['metadata'] as JsonObject;
    const name = str(om, 'name') ?? '';
    if (om['deletionTimestamp']) return old;
    const next = clone(old);
    const nm = next['metadata'] as JsonObject;
    nm['deletionTimestamp'] = timeNow();
    nm['deletionGracePeriodSeconds'] = 0;
    next['status'] = { phase: 'Terminating' };
    if (dryRun) return next;
    const stored = this.store.commit(NAMESPACES.storeKey, undefined, name, 'MODIFIED', normalizeObject(next));
    this.later(0, () => this.drainNamespace(name));
    return stored;
  }

  /** The namespace controller: delete everything in it, then the namespace. */
  private drainNamespace(namespace: string): void {
    const storeKeys = [...new Set(this.types.filter((t) => t.namespaced).map((t) => t.storeKey))];
    for (const key of storeKeys) {
      const rt = this.typeForStore(key)!;
      for (const [k, o] of this.store.list(key)) {
        if (!k.startsWith(`${namespace}/`)) continue;
        if (str(o['metadata'], 'deletionTimestamp') && rt.storeKey !== PODS.storeKey) continue;
        this.deleteStored(rt, o, undefined, false);
      }
    }
    this.maybeFinishNamespace(namespace);
  }

  private maybeFinishNamespace(namespace: string): void {
    const ns = this.store.get(NAMESPACES.storeKey, undefined, namespace);
    if (!ns || !str(ns['metadata'], 'deletionTimestamp')) return;
    const storeKeys = new Set(this.types.filter((t) => t.namespaced).map((t) => t.storeKey));
    for (const key of storeKeys) if (this.store.list(key).some(([k]) => k.startsWith(`${namespace}/`))) return;
    const next = clone(ns);
    const spec = obj(next, 'spec');
    if (spec) spec['finalizers'] = [];
    if ((arr(next['metadata'], 'finalizers') ?? []).length > 0) {
      if (!deepEqual(next, ns)) this.store.commit(NAMESPACES.storeKey, undefined, namespace, 'MODIFIED', normalizeObject(next));
      return;
    }
    this.store.commit(NAMESPACES.storeKey, undefined, namespace, 'DELETED', normalizeObject(next));
  }

  // ---------------- write hooks (CRDs, pods, namespaces) ----------------

  private afterWrite(rt: ResourceType, stored: JsonObject): void {
    if (rt.storeKey !== CRDS.storeKey) return;
    const name = str(stored['metadata'], 'name') ?? '';
    if (str(stored['metadata'], 'deletionTimestamp')) {
      this.later(0, () => this.drainCrd(name));
      return;
    }
    this.later(this.crdEstablishDelayMs, () => this.establishCrd(name));
  }

  private afterRemove(rt: ResourceType, stored: JsonObject): void {
    const meta = stored['metadata'] as JsonObject;
    const name = str(meta, 'name') ?? '';
    const namespace = str(meta, 'namespace');
    if (rt.storeKey === PODS.storeKey) {
      for (const f of [...this.logFollowers]) {
        if (f.key.startsWith(`${namespace}/${name}/`)) {
          f.res.end();
          this.logFollowers.delete(f);
        }
      }
      for (const k of [...this.logs.keys()]) if (k.startsWith(`${namespace}/${name}/`)) this.logs.delete(k);
    }
    if (rt.storeKey === CRDS.storeKey) {
      const info = crdInfo(stored);
      const storeKey = `${info.group}/${info.plural}`;
      for (let i = this.types.length - 1; i >= 0; i--) if (this.types[i]!.storeKey === storeKey) this.types.splice(i, 1);
      // The resource is no longer served: its watches end.
      for (const [s, key] of [...this.streams]) if (key === storeKey) s.end();
    }
    if (rt.custom) {
      const crd = this.store.get(CRDS.storeKey, undefined, `${rt.resource}.${rt.group}`);
      if (crd && str(crd['metadata'], 'deletionTimestamp')) this.maybeFinishCrd(str(crd['metadata'], 'name') ?? '');
    }
    if (namespace) this.maybeFinishNamespace(namespace);
  }

  private establishCrd(name: string): void {
    const crd = this.store.get(CRDS.storeKey, undefined, name);
    if (!crd || str(crd['metadata'], 'deletionTimestamp')) return;
    const info = crdInfo(crd);
    const storeKey = `${info.group}/${info.plural}`;
    for (let i = this.types.length - 1; i >= 0; i--) if (this.types[i]!.storeKey === storeKey) this.types.splice(i, 1);
    this.types.push(...customResourceTypes(info));
    const next = clone(crd);
    const status = isObject(next['status']) ? next['status'] : {};
    const names = clone(obj(next['spec'], 'names') ?? {});
    status['acceptedNames'] = names;
    const now = timeNow();
    const oldConditions = (arr(status, 'conditions') ?? []).filter(isObject);
    const cond = (type: string, reason: string, message: string): JsonObject => {
      const prev = oldConditions.find((c) => c['type'] === type && c['status'] === 'True');
      return { type, status: 'True', lastTransitionTime: prev?.['lastTransitionTime'] ?? now, reason, message };
    };
    status['conditions'] = [cond('NamesAccepted', 'NoConflicts', 'no conflicts found'), cond('Established', 'InitialNamesAccepted', 'the initial names have been accepted')];
    const stored = (arr(status, 'storedVersions') ?? []).map(String);
    const storage = info.versions.find((v) => v.storage)?.name;
    if (storage && !stored.includes(storage)) stored.push(storage);
    status['storedVersions'] = stored;
    next['status'] = status;
    if (!deepEqual(next, crd)) this.store.commit(CRDS.storeKey, undefined, name, 'MODIFIED', normalizeObject(next));
  }

  /** The CRD finalizer: delete every custom resource, then let the CRD go. */
  private drainCrd(name: string): void {
    const crd = this.store.get(CRDS.storeKey, undefined, name);
    if (!crd) return;
    const info = crdInfo(crd);
    const rt = this.typeForStore(`${info.group}/${info.plural}`);
    if (rt) {
      for (const [, o] of this.store.list(rt.storeKey)) {
        if (!str(o['metadata'], 'deletionTimestamp')) this.deleteStored(rt, o, undefined, false);
      }
    }
    this.maybeFinishCrd(name);
  }

  private maybeFinishCrd(name: string): void {
    const crd = this.store.get(CRDS.storeKey, undefined, name);
    if (!crd || !str(crd['metadata'], 'deletionTimestamp')) return;
    const info = crdInfo(crd);
    if (this.store.list(`${info.group}/${info.plural}`).length > 0) return;
    const next = clone(crd);
    const nm = next['metadata'] as JsonObject;
    const fin = (arr(nm, 'finalizers') ?? []).filter((f) => f !== CRD_CLEANUP_FINALIZER);
    nm['finalizers'] = fin;
    if (fin.length === 0) {
      const stored = this.store.commit(CRDS.storeKey, undefined, name, 'DELETED', normalizeObject(next));
      this.afterRemove(CRDS, stored);
    } else if (!deepEqual(normalizeObject(next), crd)) {
      this.store.commit(CRDS.storeKey, undefined, name, 'MODIFIED', normalizeObject(next));
    }
  }

  // ---------------- list ----------------

  /** The list response and the stored objects it is made of (for server-side printing). */
  private listWithStored(rt: ResourceType, namespace: string | undefined, q: Query): { list: JsonObject; stored: JsonObject[] } {
    const labels = parseLabelSelector(q.get('labelSelector') ?? undefined);
    const fields = parseFieldSelector(q.get('fieldSelector') ?? undefined, rt.fieldLabels);
    const rvParam = q.get('resourceVersion') ?? '';
    const match = q.get('resourceVersionMatch') ?? '';
    const limitRaw = q.get('limit');
    const limit = limitRaw ? Number(limitRaw) : 0;
    if (limitRaw && (!Number.isInteger(limit) || limit < 0)) throw badRequest(`invalid limit: ${limitRaw}`);
    const cont = q.get('continue') ?? '';
    if (match && !rvParam) throw badRequest('resourceVersionMatch is forbidden unless resourceVersion is provided');
    if (match && !['Exact', 'NotOlderThan'].includes(match)) throw badRequest(`resourceVersionMatch: Unsupported value: "${match}"`);
    let rv = this.store.currentRV;
    let items: [string, JsonObject][];
    let startAfter: string | undefined;
    if (cont) {
      if (rvParam) throw badRequest('specifying resource version is not allowed when using continue');
      let tok: { rv?: unknown; start?: unknown };
      try {
        tok = JSON.parse(Buffer.from(cont, 'base64url').toString('utf8')) as { rv?: unknown; start?: unknown };
      } catch {
        throw badRequest('continue key is not valid: illegal base64 data');
      }
      if (typeof tok.rv !== 'number' || typeof tok.start !== 'string') throw badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
      if (tok.rv < this.store.compactRev) {
        throw expired(
          'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.',
        );
      }
      rv = tok.rv;
      startAfter = tok.start;
      items = this.store.snapshot(rt.storeKey, rv);
    } else if (rvParam && rvParam !== '0' && (match === 'Exact' || (!match && limit > 0))) {
      const n = parseRv(rvParam);
      if (n < this.store.compactRev) throw expired(`too old resource version: ${n} (${this.store.compactRev})`);
      if (n > this.store.currentRV) throw apiError(504, 'Timeout', `Too large resource version: ${n}, current: ${this.store.currentRV}`, { retryAfterSeconds: 1 });
      rv = n;
      items = this.store.snapshot(rt.storeKey, rv);
    } else {
      if (rvParam && rvParam !== '0') {
        const n = parseRv(rvParam);
        if (n > this.store.currentRV) throw apiError(504, 'Timeout', `Too large resource version: ${n}, current: ${this.store.currentRV}`, { retryAfterSeconds: 1 });
      }
      items = this.store.list(rt.storeKey);
    }
    let matched = items.filter(
      ([key, o]) =>
        (namespace === undefined || key.startsWith(`${namespace}/`)) && matchesLabels(labels, obj(o['metadata'], 'labels')) && matchesFields(fields, rt.fieldsOf(o)),
    );
    if (startAfter !== undefined) matched = matched.filter(([key]) => key > startAfter!);
    const meta: JsonObject = { resourceVersion: String(rv) };
    const effectiveLimit = rvParam === '0' && !cont ? 0 : limit; // served from the watch cache: limit ignored
    if (effectiveLimit > 0 && matched.length > effectiveLimit) {
      const rest = matched.length - effectiveLimit;
      matched = matched.slice(0, effectiveLimit);
      meta['continue'] = Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv, start: matched[matched.length - 1]![0] })).toString('base64url');
      if (labels.length === 0 && fields.length === 0) meta['remainingItemCount'] = rest;
    }
    const list = {
      kind: rt.listKind,
      apiVersion: gv(rt),
      metadata: meta,
      // Built-in lists carry no kind/apiVersion on their items; custom resource lists do.
      items: matched.map(([, o]) => this.present(rt, o, rt.custom)),
    };
    return { list, stored: matched.map(([, o]) => o) };
  }

  // ---------------- output: JSON, YAML, Table, PartialObjectMetadata ----------------

  /**
   * A GET's response body in the negotiated form: the object or list as is, a
   * meta.k8s.io Table (rows from the type's convertor, each row's object as
   * includeObject says), or PartialObjectMetadata(List). list undefined: one object.
   */
  private render(rt: ResourceType, output: Output, q: Query, stored: JsonObject[], list: JsonObject | undefined): JsonObject {
    if (output.as === 'json' || output.as === 'yaml') return list ?? this.present(rt, stored[0]!);
    const listMeta: JsonObject = list ? clone(obj(list, 'metadata') ?? {}) : { resourceVersion: str(stored[0]!['metadata'], 'resourceVersion') ?? '' };
    if (output.as === 'Table') {
      const include = includeObjectParam(q);
      const items = stored.map((o) => ({ stored: o, external: this.present(rt, o) }));
      return asTable(rt.table ?? DEFAULT_CONVERTOR, items, listMeta, output.groupVersion, include);
    }
    if (output.as === 'PartialObjectMetadata') {
      if (list) throw notAcceptableError(`you requested PartialObjectMetadata, but the requested object is a list (*${rt.custom ? 'unstructured.UnstructuredList' : `v1.${rt.listKind}`})`);
      return partialObjectMetadata(this.present(rt, stored[0]!), output.groupVersion);
    }
    if (!list) throw notAcceptableError(`you requested PartialObjectMetadataList, but the requested object is not a list (*${rt.custom ? 'unstructured.Unstructured' : `v1.${rt.kind}`})`);
    return { kind: 'PartialObjectMetadataList', apiVersion: output.groupVersion, metadata: listMeta, items: stored.map((o) => partialObjectMetadata(this.present(rt, o), output.groupVersion)) };
  }

  private sendOutput(res: ServerResponse, output: Output, body: JsonObject): void {
    if (output.as !== 'yaml') return this.sendJson(res, 200, body);
    const text = stringifyYaml(body);
    res.writeHead(200, { 'Content-Type': 'application/yaml', 'Content-Length': String(Buffer.byteLength(text)) });
    res.end(text);
  }

  // ---------------- OpenAPI ----------------

  private openApi(req: IncomingMessage, res: ServerResponse, url: URL): void {
    if ((req.method ?? 'GET') !== 'GET') throw methodNotAllowed();
    const accept = req.headers.accept;
    if (url.pathname === '/openapi/v2') {
      const { contentType, body } = openApiV2(accept);
      res.writeHead(200, { 'Content-Type': contentType, 'Content-Length': String(body.length) });
      res.end(body);
      return;
    }
    checkJsonAccepted(accept);
    if (url.pathname === '/openapi/v3') return this.sendJson(res, 200, openApiV3Index(this.types));
    const doc = openApiV3Document(this.types, url.pathname.slice('/openapi/v3/'.length));
    if (!doc) throw resourceNotFound();
    this.sendJson(res, 200, doc);
  }

  // ---------------- watch ----------------

  private watch(rt: ResourceType, namespace: string | undefined, q: Query, res: ServerResponse, output: Output = { as: 'json' }): void {
    const labels = parseLabelSelector(q.get('labelSelector') ?? undefined);
    const fields = parseFieldSelector(q.get('fieldSelector') ?? undefined, rt.fieldLabels);
    const rvParam = q.get('resourceVersion') ?? '';
    const bookmarks = q.get('allowWatchBookmarks') === 'true' || q.get('allowWatchBookmarks') === '1';
    const sendInitialEvents = q.get('sendInitialEvents') === 'true';
    const timeoutRaw = q.get('timeoutSeconds');
    const timeoutSeconds = timeoutRaw ? Number(timeoutRaw) : undefined;
    if (timeoutRaw && (!Number.isFinite(timeoutSeconds) || timeoutSeconds! < 0)) throw badRequest(`invalid timeoutSeconds: ${timeoutRaw}`);
    if (sendInitialEvents && (!bookmarks || q.get('resourceVersionMatch') !== 'NotOlderThan')) {
      throw invalid('ListOptions', 'meta.k8s.io', '', [
        { type: 'Forbidden', field: 'sendInitialEvents', detail: 'sendInitialEvents is forbidden for watch unless resourceVersionMatch is set to NotOlderThan and allowWatchBookmarks is true' },
      ]);
    }
    const startRv = rvParam === '' || rvParam === '0' ? undefined : parseRv(rvParam);
    const matches = (o: JsonObject) =>
      (namespace === undefined || str(o['metadata'], 'namespace') === namespace) && matchesLabels(labels, obj(o['metadata'], 'labels')) && matchesFields(fields, rt.fieldsOf(o));
    const bookmarkObject = (annotations?: Record<string, string>) => ({
      kind: rt.kind,
      apiVersion: gv(rt),
      metadata: { resourceVersion: String(this.store.currentRV), ...(annotations ? { annotations } : {}) },
    });
    // Events carry the object in the negotiated form; a Table's column definitions only in the first.
    if (output.as === 'PartialObjectMetadataList') throw notAcceptableError('you requested PartialObjectMetadataList, but a watch streams single objects: ask for PartialObjectMetadata');
    if (output.as === 'Table') includeObjectParam(q);
    let headersSent = false;
    const form = (stored: JsonObject, external: JsonObject): JsonObject => {
      if (output.as === 'json' || output.as === 'yaml') return external;
      if (output.as === 'PartialObjectMetadata') return partialObjectMetadata(external, output.groupVersion);
      const include = includeObjectParam(q);
      const table = asTable(rt.table ?? DEFAULT_CONVERTOR, [{ stored, external }], { resourceVersion: str(external['metadata'], 'resourceVersion') ?? '' }, output.groupVersion, include, headersSent);
      headersSent = true;
      return table;
    };
    const send = (type: string, stored: JsonObject, external?: JsonObject) => stream.send({ type, object: form(stored, external ?? this.present(rt, stored)) });
    let watcher: StoreWatcher | undefined;
    const stream = new WatchStream(res, {
      bookmarkIntervalMs: bookmarks ? this.bookmarkIntervalMs : undefined,
      timeoutMs: timeoutSeconds !== undefined ? timeoutSeconds * 1000 : undefined,
      bookmark: () => bookmarkObject(),
      onClose: () => {
        if (watcher) this.store.watchers.delete(watcher);
        this.streams.delete(stream);
      },
    });
    if (startRv !== undefined && !sendInitialEvents && startRv < this.store.compactRev) {
      stream.send({ type: 'ERROR', object: failure(410, 'Expired', `too old resource version: ${startRv} (${this.store.compactRev})`) });
      stream.end();
      return;
    }
    this.streams.set(stream, rt.storeKey);
    const deliver = (e: HistoryEntry) => {
      if (e.type === 'ADDED') {
        if (matches(e.object)) send('ADDED', e.object);
      } else if (e.type === 'DELETED') {
        if (matches(e.object)) send('DELETED', e.object);
      } else {
        const cur = matches(e.object);
        const prev = e.prev !== undefined && matches(e.prev);
        if (cur && prev) send('MODIFIED', e.object);
        else if (cur) send('ADDED', e.object);
        else if (prev) {
          const gone = this.present(rt, e.prev!);
          (gone['metadata'] as JsonObject)['resourceVersion'] = String(e.rv);
          send('DELETED', e.prev!, gone);
        }
      }
    };
    if (startRv === undefined || sendInitialEvents) {
      for (const [, o] of this.store.list(rt.storeKey)) if (matches(o)) send('ADDED', o);
      if (sendInitialEvents) stream.send({ type: 'BOOKMARK', object: bookmarkObject({ 'k8s.io/initial-events-end': 'true' }) });
    } else {
      for (const e of this.store.since(rt.storeKey, startRv)) deliver(e);
    }
    watcher = { storeKey: rt.storeKey, onEvent: deliver };
    if (!stream.isClosed) this.store.watchers.add(watcher);
  }

  // ---------------- pods/log ----------------

  private containerFor(pod: JsonObject, podName: string, requested: string | null): string {
    const names = (arr(obj(pod, 'spec'), 'containers') ?? []).map((c) => str(c, 'name') ?? '');
    if (requested) {
      const all = [...names, ...(arr(obj(pod, 'spec'), 'initContainers') ?? []).map((c) => str(c, 'name') ?? '')];
      if (!all.includes(requested)) throw badRequest(`container ${requested} is not valid for pod ${podName}`);
      return requested;
    }
    if (names.length === 1) return names[0]!;
    throw badRequest(`a container name must be specified for pod ${podName}, choose one of: [${names.join(' ')}]`);
  }

  private podLog(namespace: string, name: string, q: Query, res: ServerResponse): void {
    const pod = this.getOr404(PODS, namespace, name);
    const container = this.containerFor(pod, name, q.get('container'));
    const cs = (arr(obj(pod, 'status'), 'containerStatuses') ?? []).find((s) => str(s, 'name') === container);
    const waiting = obj(obj(cs, 'state'), 'waiting');
    if (!cs || waiting) {
      throw badRequest(`container "${container}" in pod "${name}" is waiting to start: ${str(waiting, 'reason') ?? 'ContainerCreating'}`);
    }
    const key = `${namespace}/${name}/${container}`;
    let text = this.logs.get(key) ?? '';
    const tail = q.get('tailLines');
    if (tail !== null) {
      const n = Number(tail);
      const lines = text.split('\n');
      const trailing = text.endsWith('\n');
      if (trailing) lines.pop();
      text = lines.slice(Math.max(0, lines.length - n)).join('\n') + (trailing && n > 0 ? '\n' : '');
    }
    const limitBytes = q.get('limitBytes');
    if (limitBytes !== null) text = Buffer.from(text).subarray(0, Number(limitBytes)).toString('utf8');
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.write(text);
    const follow = q.get('follow') === 'true' || q.get('follow') === '1';
    if (!follow || obj(obj(cs, 'state'), 'terminated')) {
      res.end();
      return;
    }
    const f = { key, res };
    this.logFollowers.add(f);
    res.on('close', () => this.logFollowers.delete(f));
  }
}

// ---------------- free helpers ----------------

interface DeleteOpts {
  gracePeriodSeconds: number | undefined;
  uid: string | undefined;
  resourceVersion: string | undefined;
}

function deleteOptions(raw: Buffer, q: Query): DeleteOpts {
  let body: JsonObject = {};
  if (raw.length > 0) {
    try {
      const parsed = JSON.parse(raw.toString('utf8')) as Json;
      if (isObject(parsed)) body = parsed;
    } catch {
      throw badRequest('the body of the DeleteOptions could not be decoded');
    }
  }
  const qGrace = q.get('gracePeriodSeconds');
  const grace = num(body, 'gracePeriodSeconds') ?? (qGrace !== null ? Number(qGrace) : undefined);
  const pre = obj(body, 'preconditions');
  return { gracePeriodSeconds: grace, uid: str(pre, 'uid'), resourceVersion: str(pre, 'resourceVersion') };
}

function parseDryRun(q: Query): boolean {
  const values = q.getAll('dryRun');
  if (values.length === 0) return false;
  if (values.every((v) => v === 'All')) return true;
  throw badRequest(`dryRun: Unsupported value: ${JSON.stringify(values.find((v) => v !== 'All'))}: supported values: "All"`);
}

function parseRv(rv: string): number {
  if (!/^[0-9]+$/.test(rv)) throw badRequest(`invalid resource version: strconv.ParseUint: parsing ${JSON.stringify(rv)}: invalid syntax`);
  return Number(rv);
}

function specChanged(rt: ResourceType, a: JsonObject, b: JsonObject): boolean {
  const strip = (o: JsonObject) => {
    const c: JsonObject = { ...o };
    delete c['metadata'];
    delete c['apiVersion'];
    delete c['kind'];
    if (rt.statusSubresource) delete c['status'];
    return c;
  };
  return !deepEqual(strip(a), strip(b));
}

/** Metadata in the server's field order, empty optional fields omitted. */
function normalizeObject(o: JsonObject): JsonObject {
  const meta = obj(o, 'metadata') ?? {};
  const m: JsonObject = {};
  for (const f of OBJECT_META_FIELDS) {
    const v = meta[f];
    if (v === undefined || v === null || v === '') continue;
    if ((Array.isArray(v) && v.length === 0) || (isObject(v) && Object.keys(v).length === 0)) continue;
    m[f] = v;
  }
  const out: JsonObject = { metadata: m };
  for (const [k, v] of Object.entries(o)) if (k !== 'metadata' && v !== undefined) out[k] = v;
  return out;
}

function queryRecord(q: URLSearchParams): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const k of new Set(q.keys())) {
    const all = q.getAll(k);
    out[k] = all.length === 1 ? all[0]! : all;
  }
  return out;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > MAX_BODY) throw apiError(413, 'RequestEntityTooLarge', 'Request entity too large: limit is 3145728');
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

function decodeBody(raw: Buffer, contentType: string): Json {
  const text = raw.toString('utf8');
  if (contentType === 'application/yaml') {
    try {
      return parseYaml(text) as Json;
    } catch (e) {
      throw badRequest(`error decoding YAML: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  if (contentType !== 'application/json' && contentType !== '*/*') {
    throw unsupportedMediaType(`the body of the request was in an unknown format - accepted media types include: application/json, application/yaml`);
  }
  try {
    return JSON.parse(text) as Json;
  } catch (e) {
    throw badRequest(`couldn't get version/kind; json parse error: ${e instanceof Error ? e.message : String(e)}`);
  }
}

const WARNINGS = new WeakMap<ServerResponse, string[]>();

function addWarnings(res: ServerResponse, warnings: string[]): void {
  WARNINGS.set(res, [...(WARNINGS.get(res) ?? []), ...warnings]);
}

function warningHeaders(res: ServerResponse): Record<string, string> {
  const w = WARNINGS.get(res);
  return w && w.length > 0 ? { Warning: w.map((x) => `299 - ${JSON.stringify(x)}`).join(', ') } : {};
}

function statusText(code: number): string {
  return ({ 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 429: 'Too Many Requests', 500: 'Internal Server Error', 503: 'Service Unavailable' } as Record<number, string>)[code] ?? 'Error';
}

