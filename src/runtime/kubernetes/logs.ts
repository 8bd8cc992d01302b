// The `main` container's log as one text stream (the kubelet interleaves
// stdout and stderr into one log already). A container that has not started
// yet has no log: an empty stream, as Docker gives for a created container.
import { PassThrough } from 'node:stream';
import type { KubeConfig } from '@kubernetes/client-node';
import { isRuntimeError } from '../errors.js';
import type { KubeTimeouts } from './call.js';
import { CONTAINER_NAME } from './pod-spec.js';
import { openStream } from './stream.js';

/** The query of pods/{name}/log. tail 0 is sent as tailLines=0 (client-node's Log would drop it). */
export function logQuery(opts: { tail?: number; follow?: boolean }): Record<string, string> {
  const q: Record<string, string> = { container: CONTAINER_NAME };
  if (opts.follow) q['follow'] = 'true';
  if (opts.tail !== undefined) q['tailLines'] = String(Math.max(0, Math.floor(opts.tail)));
  return q;
}

/** "is waiting to start", "ContainerCreating", "PodInitializing": the API's 400 for a container without a log yet. */
const NOT_STARTED = /waiting to start|ContainerCreating|PodInitializing/i;

export async function podLogs(
  kc: KubeConfig,
  namespace: string,
  name: string,
  opts: { tail?: number; follow?: boolean },
  t: KubeTimeouts,
  signal?: AbortSignal,
): Promise<NodeJS.ReadableStream> {
  const out = new PassThrough();
  out.setEncoding('utf8');
  // Our own controller: the caller's signal ends the stream; the reader closing it ends the request too.
  const stream = new AbortController();
  const onAbort = (): void => stream.abort(signal?.reason);
  if (signal?.aborted) onAbort();
  else signal?.addEventListener('abort', onAbort, { once: true });
  const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}/log`;
  let res;
  try {
    res = await openStream(kc, 'logs', path, logQuery(opts), stream.signal, t.logs);
  } catch (e) {
    signal?.removeEventListener('abort', onAbort);
    if (isRuntimeError(e, 'Invalid') && NOT_STARTED.test(e.message)) {
      out.end();
      return out;
    }
    throw e;
  }
  res.pipe(out);
  res.on('error', () => out.end());
  res.on('close', () => out.end());
  out.on('close', () => {
    signal?.removeEventListener('abort', onAbort);
    stream.abort();
  });
  return out;
}
