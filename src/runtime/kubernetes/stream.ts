// A streaming GET (watch, pod logs) on node:http(s) with the transport and
// credentials client-node's KubeConfig produces (applyToHTTPSOptions: CA,
// client certificates, token or exec plugin, proxy agent).
//
// Not client-node's Watch and Log, because in 1.4: (a) both hand back their
// AbortController only once the response headers arrived, so a request that
// is accepted and never answered cannot be aborted; (b) a non-200 answer
// loses the metav1.Status body and Retry-After (410 Expired and 500 are both
// "an error"; a 400 from pods/log says nothing); (c) Log drops tailLines=0.
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { RuntimeError } from '../errors.js';
import { abortError, statusError, toRuntimeError } from './call.js';

/**
 * Sends GET path?query and resolves with the response once a 200 arrived
 * within connectTimeoutMs. Any other status rejects with a RuntimeError that
 * carries the Status's message and Retry-After. Aborting `signal` (before or
 * after) destroys the request; the response then ends with an error.
 */
export async function openStream(
  kc: KubeConfig,
  op: string,
  path: string,
  query: Record<string, string>,
  signal: AbortSignal,
  connectTimeoutMs: number,
): Promise<IncomingMessage> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new RuntimeError('Invalid', `kubernetes ${op}: no current cluster in the kubeconfig`);
  const url = new URL(cluster.server.replace(/\/+$/, '') + path);
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  const opts: https.RequestOptions = {};
  await kc.applyToHTTPSOptions(opts);
  if (signal.aborted) throw abortError(signal);
  const transport = url.protocol === 'https:' ? https : http;
  return new Promise<IncomingMessage>((resolve, reject) => {
    let settled = false;
    const fail = (e: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      req.destroy();
      reject(e);
    };
    const onAbort = (): void => fail(abortError(signal));
    const timer = setTimeout(() => fail(new RuntimeError('Unavailable', `kubernetes ${op}: the API server did not answer within ${connectTimeoutMs} ms`)), connectTimeoutMs);
    const req = transport.request(url, { ...opts, method: 'GET', headers: { ...(opts.headers ?? {}), Accept: 'application/json, */*' } });
    req.on('socket', (s) => s.setKeepAlive(true, 30_000));
    req.on('error', (e) => fail(toRuntimeError(op, e)));
    req.on('response', (res) => {
      if (settled) {
        res.destroy();
        return;
      }
      if (res.statusCode !== 200) {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          if (body.length < 65_536) body += c;
        });
        res.on('end', () => fail(statusError(op, res.statusCode ?? 0, body, res.headers['retry-after'])));
        res.on('error', (e) => fail(toRuntimeError(op, e)));
        return;
      }
      settled = true;
      clearTimeout(timer);
      // From here on the caller's signal ends the stream, not the promise.
      signal.removeEventListener('abort', onAbort);
      const onLateAbort = (): void => {
        res.destroy();
        req.destroy();
      };
      signal.addEventListener('abort', onLateAbort, { once: true });
      res.once('close', () => signal.removeEventListener('abort', onLateAbort));
      resolve(res);
    });
    signal.addEventListener('abort', onAbort, { once: true });
    req.end();
  });
}
