// LIST and WATCH of one resource, the two calls an informer is made of.
//
// The watch is a plain streaming GET on node:http(s), with the transport and
// credentials client-node's KubeConfig produces (applyToHTTPSOptions: CA,
// client certificates, token or exec plugin, proxy agent). client-node 1.4's
// own Watch is not used because (a) watch() only hands back its
// AbortController once the response headers arrived, so a connection that is
// accepted and never answered cannot be aborted (its 30 s timeout signal is
// overwritten a line later), and (b) a non-200 answer loses the metav1.Status
// body (410 Expired vs 500 are both just "an error"). Here every request takes
// an AbortSignal, the Status of a failed start is parsed, and lines are split
// on "\n" across chunks.
import http from 'node:http';
import https from 'node:https';
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { callOptions, kubeError, KubeApiError } from './kube-api.js';

export interface KubeObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  finalizers?: string[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: KubeObjectMeta;
  [field: string]: unknown;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
export interface WatchEvent<T> {
  type: WatchEventType;
  object: T;
}

export interface ListResult<T> {
  resourceVersion: string;
  items: T[];
}

/** What an informer needs from the API server for one resource. */
export interface ListWatch<T extends KubeObject> {
  /** For logs: e.g. instances.berth.dev in all namespaces. */
  readonly description: string;
  /** A consistent LIST (all pages) and its resourceVersion. */
  list(signal: AbortSignal): Promise<ListResult<T>>;
  /**
   * WATCH from resourceVersion with bookmarks. Resolves when the server ends the
   * stream (timeoutSeconds), rejects on transport errors and on a refused start
   * (KubeApiError, 410 included). ERROR events are delivered to onEvent.
   */
  watch(resourceVersion: string, onEvent: (e: WatchEvent<T>) => void, signal: AbortSignal, timeoutSeconds: number): Promise<void>;
}

/** The custom resources of one group/version/plural, in one namespace or all. */
export function customResourceListWatch<T extends KubeObject>(kc: KubeConfig, r: { group: string; version: string; plural: string; namespace?: string | undefined; pageSize?: number }): ListWatch<T> {
  const api = kc.makeApiClient(CustomObjectsApi);
  const path = r.namespace ? `/apis/${r.group}/${r.version}/namespaces/${encodeURIComponent(r.namespace)}/${r.plural}` : `/apis/${r.group}/${r.version}/${r.plural}`;
  const listPage = (signal: AbortSignal, cont: string | undefined): Promise<{ metadata?: { resourceVersion?: string; continue?: string }; items?: T[] }> => {
    const page = { group: r.group, version: r.version, plural: r.plural, limit: r.pageSize ?? 500, ...(cont ? { _continue: cont } : {}) };
    const opts = callOptions({ signal });
    return (r.namespace ? api.listNamespacedCustomObject({ ...page, namespace: r.namespace }, opts) : api.listClusterCustomObject(page, opts)) as Promise<never>;
  };
  return {
    description: `${r.plural}.${r.group} ${r.namespace ? `in namespace ${r.namespace}` : 'in all namespaces'}`,
    async list(signal) {
      const items: T[] = [];
      let cont: string | undefined;
      let resourceVersion = '';
      do {
        let page;
        try {
          page = await listPage(signal, cont);
        } catch (e) {
          throw kubeError(e, `list ${path}`);
        }
        items.push(...(page.items ?? []));
        resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
        cont = page.metadata?.continue || undefined;
      } while (cont);
      return { resourceVersion, items };
    },
    watch: (resourceVersion, onEvent, signal, timeoutSeconds) =>
      streamWatch<T>(kc, path, { resourceVersion, allowWatchBookmarks: 'true', timeoutSeconds: String(timeoutSeconds) }, onEvent, signal),
  };
}

/** One WATCH request as a stream of JSON lines; see the header for why not client-node's Watch. */
export async function streamWatch<T>(kc: KubeConfig, path: string, query: Record<string, string>, onEvent: (e: WatchEvent<T>) => void, signal: AbortSignal): Promise<void> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('no current cluster in the kubeconfig');
  const url = new URL(cluster.server.replace(/\/+$/, '') + path);
  url.searchParams.set('watch', 'true');
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  const opts: https.RequestOptions = {};
  await kc.applyToHTTPSOptions(opts);
  signal.throwIfAborted();
  const transport = url.protocol === 'https:' ? https : http;
  await new Promise<void>((resolve, reject) => {
    let settled = false;
    const finish = (err?: unknown): void => {
      if (settled) return;
      settled = true;
      if (err) reject(err instanceof Error ? err : new Error(String(err)));
      else resolve();
    };
    const req = transport.request(url, { ...opts, method: 'GET', headers: { ...(opts.headers ?? {}), Accept: 'application/json' }, signal });
    req.on('socket', (s) => s.setKeepAlive(true, 30_000));
    req.on('error', (e) => finish(e));
    req.on('response', (res) => {
      res.setEncoding('utf8');
      if (res.statusCode !== 200) {
        let body = '';
        res.on('data', (c: string) => (body += c.length + body.length > 65_536 ? '' : c));
        res.on('end', () => finish(statusError(res.statusCode ?? 0, body, res.headers['retry-after'], `watch ${path}`)));
        res.on('error', (e) => finish(e));
        return;
      }
      let buffer = '';
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, nl).trim();
          buffer = buffer.slice(nl + 1);
          if (!line) continue;
          let event: WatchEvent<T>;
          try {
            event = JSON.parse(line) as WatchEvent<T>;
          } catch (e) {
            req.destroy();
            finish(new Error(`watch ${path}: undecodable event: ${(e as Error).message}`, { cause: e }));
            return;
          }
          onEvent(event);
        }
      });
      res.on('end', () => finish());
      res.on('aborted', () => finish(new Error(`watch ${path}: connection closed mid-stream`)));
      res.on('error', (e) => finish(e));
      res.on('close', () => finish(res.complete ? undefined : new Error(`watch ${path}: connection closed mid-stream`)));
    });
    req.end();
  });
}

function statusError(code: number, body: string, retryAfter: string | string[] | undefined, what: string): KubeApiError {
  let status: { reason?: string; message?: string } = {};
  try {
    status = JSON.parse(body) as typeof status;
  } catch {
    // not a Status
  }
  const seconds = Number(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter);
  return new KubeApiError(code, status.reason ?? 'Unknown', `${what}: ${code} ${status.message ?? body.slice(0, 200)}`.trim(), Number.isFinite(seconds) ? seconds * 1000 : undefined);
}
