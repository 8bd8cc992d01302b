// The controller's HTTP API on node:http (a router for ~10 Kubernetes-shaped
// paths does not need a framework): resources, events, exec, logs, health and
// metrics. Every error is a metav1.Status; every request is measured.
import { createHash, timingSafeEqual } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { KIND_NAMES, KINDS, VERSION, GROUP } from '../spec/schema.js';
import type { ApiDeps, RequestContext } from './context.js';
import { handleArchive } from './archive.js';
import { handleEvents } from './events.js';
import { handleOverview } from './overview.js';
import { defaultUiDir, handleUiAsset } from './ui-assets.js';
import { handleExec, handleLog } from './exec.js';
import { apiRequestHistogram } from './metrics.js';
import { handleCollection, handleObject } from './resources.js';
import { API_PREFIX, matchRoute, routeResource, type Route } from './routes.js';
import { ApiError, badRequest, methodNotAllowed, sendError, sendJson } from './status.js';
import { checkRequestOrigin, type ListenAddress } from './request-origin.js';
import { warmUpClaimValidation } from '../spec/load.js';

/** A follower's answer: try again after this long (a takeover takes about one lease duration). */
const NOT_SERVING_RETRY_AFTER_S = 2;

export { assertListenAllowed, readTokenFile } from './listen.js';
import { loopbackAddressFor } from './listen.js';

export interface ApiServer {
  server: http.Server;
  listen(host: string, port: number): Promise<void>;
  /** Stops accepting, ends watches and log streams, cancels running execs, waits for the rest. */
  close(): Promise<void>;
}

/** Why a request's signal aborts: its connection closed (the answer went out, or the client left). */
const REQUEST_ENDED = new DOMException('the request ended (its answer was sent or its client went away)', 'AbortError');

/** After this long in close(), connections still open are cut. */
const CLOSE_GRACE_MS = 5_000;

export function createApiServer(deps: ApiDeps): ApiServer {
  warmUpClaimValidation(deps.policy);
  const histogram = apiRequestHistogram(deps.registry);
  const closing = new AbortController();
  // Each open request listens for the server closing (and stops when it ends): concurrency, not a leak.
  setMaxListeners(10_000, closing.signal);
  const tokenDigest = deps.token === undefined ? undefined : digest(deps.token);
  let listenAddress: ListenAddress | undefined;

  const server = http.createServer((req, res) => {
    void handle(req, res);
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    const method = (req.method ?? 'GET').toUpperCase();
    let verb = KNOWN_METHODS.has(method) ? method.toLowerCase() : 'other';
    let resource = '';
    let observed = false;
    const observe = (code: number): void => {
      if (observed) return;
      observed = true;
      histogram.observe({ verb, resource, code: String(code) }, Number(process.hrtime.bigint() - started) / 1e9);
    };
    res.once('finish', () => observe(res.statusCode));
    res.once('close', () => observe(res.statusCode));

    const abort = new AbortController();
    // One shared reason (an AbortError, as abort() gives): abort() without one makes a new DOMException, with
    // its stack, at the end of every request.
    const stop = (): void => abort.abort(REQUEST_ENDED);
    res.once('close', stop);
    if (closing.signal.aborted) stop();
    else closing.signal.addEventListener('abort', stop, { once: true });
    res.once('close', () => closing.signal.removeEventListener('abort', stop));

    try {
      const url = requestUrl(req.url);
      const route = matchRoute(url.pathname);
      resource = routeResource(route);
      verb = verbOf(method, route, url);
      if (route.type !== 'healthz' && route.type !== 'readyz') {
        checkRequestOrigin(req, method, listenAddress, tokenDigest !== undefined);
        // The page's own files carry no data: the page asks for the token and sends it with its API requests.
        if (route.type !== 'ui-asset') authorize(req);
        // A follower says so first: it is not loading, it never serves (issue 14).
        if (needsLoadedSources(route)) refuseWhenNotServing();
        if (needsLoadedSources(route) && deps.isLoaded && !deps.isLoaded()) {
          throw new ApiError(503, 'ServiceUnavailable', 'the controller is still loading its sources (spec files, applied resources); try again in a moment', undefined, { 'Retry-After': '1' });
        }
      }
      const ctx: RequestContext = { req, res, url, method, signal: abort.signal, markStreaming: () => observe(200) };
      await dispatch(ctx, route);
    } catch (e) {
      if (res.headersSent) {
        if (!(e instanceof ApiError)) deps.logger?.warn({ err: e, method, path: req.url }, 'API stream failed');
        res.destroy();
        return;
      }
      if (e instanceof ApiError) {
        sendError(res, e);
        return;
      }
      deps.logger?.warn({ err: e, method, path: req.url }, 'API request failed');
      sendError(res, new ApiError(500, 'InternalError', `internal error: ${e instanceof Error ? e.message : String(e)}`));
    }
  }

  function authorize(req: IncomingMessage): void {
    if (tokenDigest === undefined) return;
    const header = req.headers.authorization ?? '';
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    const challenge = { 'WWW-Authenticate': 'Bearer realm="berth"' };
    if (!m) throw new ApiError(401, 'Unauthorized', 'this API needs a bearer token (Authorization: Bearer <token>); berth reads it from --token-file or BERTH_TOKEN_FILE', undefined, challenge);
    if (!timingSafeEqual(digest(m[1]!), tokenDigest)) throw new ApiError(401, 'Unauthorized', 'the bearer token is not valid for this controller', undefined, challenge);
  }

  function refuseWhenNotServing(): void {
    const why = deps.notServing?.();
    if (why !== undefined) throw new ApiError(503, 'ServiceUnavailable', why, undefined, { 'Retry-After': String(NOT_SERVING_RETRY_AFTER_S) });
  }

  async function dispatch(ctx: RequestContext, route: Route): Promise<void> {
    const { res, method } = ctx;
    switch (route.type) {
      case 'healthz':
        onlyGet(method);
        return sendText(res, 200, 'ok\n');
      case 'readyz': {
        onlyGet(method);
        const degraded = deps.degradedSources?.() ?? [];
        const sources = degraded.map((d) => `source ${d}`).join('; ');
        if (!deps.isReady()) throw new ApiError(503, 'ServiceUnavailable', `the controller is not ready${sources ? ` (${sources})` : ''}`, undefined, { 'Retry-After': '1' });
        // A source that cannot be read whole keeps what it may describe (nothing is pruned) and is reported here.
        if (degraded.length > 0) throw new ApiError(503, 'ServiceUnavailable', `degraded: ${sources}`);
        return sendText(res, 200, 'ok\n');
      }
      case 'metrics': {
        onlyGet(method);
        const text = await deps.registry.metrics();
        res.writeHead(200, { 'Content-Type': deps.registry.contentType });
        res.end(text);
        return;
      }
      case 'discovery':
        onlyGet(method);
        return sendJson(res, 200, discovery());
      case 'collection':
        refuseWhenNotServing();
        return handleCollection(ctx, deps, route);
      case 'object': {
        refuseWhenNotServing();
        const key = { kind: route.kind, namespace: route.namespace, name: route.name };
        if (route.subresource === 'exec') return handleExec(ctx, deps, key);
        if (route.subresource === 'log') return handleLog(ctx, deps, key);
        if (route.subresource === 'archive') return handleArchive(ctx, deps, key);
        return handleObject(ctx, deps, route);
      }
      case 'events':
        refuseWhenNotServing();
        return handleEvents(ctx, deps, route.namespace);
      case 'ui-asset':
        return handleUiAsset(ctx, deps.uiDirs ?? defaultUiDir(), route.file);
      case 'ui-overview':
        return handleOverview(ctx, deps);
      case 'unknown':
        throw new ApiError(404, 'NotFound', `the server could not find the requested resource (${ctx.url.pathname})`);
    }
  }

  return {
    server,
    listen: (host, port) =>
      new Promise<void>((resolve, reject) => {
        const onError = (e: Error): void => reject(e);
        server.once('error', onError);
        server.listen(port, loopbackAddressFor(host), () => {
          server.off('error', onError);
          const addr = server.address();
          listenAddress = { host, port: typeof addr === 'object' && addr ? addr.port : port };
          resolve();
        });
      }),
    close: () =>
      new Promise<void>((resolve) => {
        closing.abort();
        const cut = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
        cut.unref();
        server.close(() => {
          clearTimeout(cut);
          resolve();
        });
        server.closeIdleConnections();
      }),
  };
}

/** The request target as a URL; "//x", "*" or an absolute form that does not parse is a 400, not an internal error. */
function requestUrl(target: string | undefined): URL {
  const t = target ?? '/';
  try {
    return t.startsWith('/') ? new URL(`http://berth.invalid${t}`) : new URL(t, 'http://berth.invalid');
  } catch {
    throw badRequest(`malformed request target ${JSON.stringify(t.slice(0, 200))}`);
  }
}

/** Answers that depend on the sources' content wait for their first load. */
const needsLoadedSources = (route: Route): boolean => route.type === 'collection' || route.type === 'object' || route.type === 'events';

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

function verbOf(method: string, route: Route, url: URL): string {
  const watching = ['true', '1', ''].includes(url.searchParams.get('watch') ?? 'false');
  if (route.type === 'object' && route.subresource === 'exec') return 'exec';
  if (route.type === 'object' && route.subresource === 'log') return 'log';
  if (route.type === 'object' && route.subresource === 'archive') return method === 'GET' ? 'copy-from' : 'copy-to';
  if (method === 'GET') {
    if (watching && (route.type === 'collection' || route.type === 'object' || route.type === 'events')) return 'watch';
    return route.type === 'collection' || route.type === 'events' ? 'list' : 'get';
  }
  if (method === 'PUT' || method === 'POST') return route.type === 'collection' || route.type === 'object' ? 'apply' : method.toLowerCase();
  return KNOWN_METHODS.has(method) ? method.toLowerCase() : 'other';
}

function onlyGet(method: string): void {
  if (method !== 'GET' && method !== 'HEAD') throw methodNotAllowed(method, ['GET']);
}

function sendText(res: ServerResponse, code: number, text: string): void {
  res.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': String(Buffer.byteLength(text)) });
  res.end(text);
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

function discovery(): object {
  const verbs = ['get', 'list', 'watch', 'create', 'update', 'delete'];
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: `${GROUP}/${VERSION}`,
    resources: KIND_NAMES.flatMap((kind) => {
      const k = KINDS[kind];
      return [
        { name: k.plural, singularName: k.singular, namespaced: true, kind, verbs, shortNames: [...k.shortNames] },
        { name: `${k.plural}/status`, singularName: '', namespaced: true, kind, verbs: ['get'] },
        ...(kind === 'Instance'
          ? [
              { name: 'instances/exec', singularName: '', namespaced: true, kind: 'ExecResult', verbs: ['create'] },
              { name: 'instances/log', singularName: '', namespaced: true, kind: 'Instance', verbs: ['get'] },
              { name: 'instances/archive', singularName: '', namespaced: true, kind: 'Instance', verbs: ['get', 'update'] },
            ]
          : []),
      ];
    }),
    path: API_PREFIX,
  };
}
