// Small helpers around @kubernetes/client-node 1.4 shared by the informer, the
// custom-resource source, the event sink and leader election: loading the
// config, per-call options (an AbortSignal, a patch content type) and one
// error shape for the answers of the API server.
//
// client-node 1.4 facts these helpers exist for:
// - ApiException.body is the raw response text (a JSON metav1.Status), not an object.
// - The Object*Api classes take Observable-style middleware (`pre` returns an
//   Observable, not a Promise); a signal is set per request through it.
// - PATCH bodies need an explicit Content-Type; CRs refuse strategic merge patch (415).
import { ApiException, KubeConfig, Observable, type ConfigurationOptions, type ObservableMiddleware, type RequestContext, type ResponseContext } from '@kubernetes/client-node';

export const MERGE_PATCH = 'application/merge-patch+json';

/** A failed API call: the HTTP code and what the metav1.Status said. */
export class KubeApiError extends Error {
  override readonly name = 'KubeApiError';
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly retryAfterMs?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Wraps anything a client-node call threw: ApiException -> KubeApiError (code 0 for transport errors). */
export function kubeError(e: unknown, what: string): KubeApiError {
  if (e instanceof KubeApiError) return e;
  if (e instanceof ApiException) {
    const code = (e as ApiException<unknown>).code;
    let status: { reason?: string; message?: string; details?: { retryAfterSeconds?: number } } = {};
    const body: unknown = (e as ApiException<unknown>).body;
    try {
      status = (typeof body === 'string' ? JSON.parse(body) : body) as typeof status;
    } catch {
      // not a Status: keep the code
    }
    const header = (e as ApiException<unknown>).headers?.['retry-after'];
    const retryAfterSeconds = header !== undefined && Number.isFinite(Number(header)) ? Number(header) : status?.details?.retryAfterSeconds;
    return new KubeApiError(code, status?.reason ?? 'Unknown', `${what}: ${code} ${status?.message ?? ''}`.trim(), retryAfterSeconds !== undefined ? retryAfterSeconds * 1000 : undefined, { cause: e });
  }
  const err = e as { statusCode?: number; message?: string; name?: string };
  return new KubeApiError(err?.statusCode ?? 0, err?.name === 'AbortError' ? 'Aborted' : 'Unavailable', `${what}: ${err?.message ?? String(e)}`, undefined, { cause: e });
}

export const isKubeError = (e: unknown, code: number): boolean => e instanceof KubeApiError && e.code === code;

/**
 * The apiserver refused the request itself (400, 403, 422, ...): sending it
 * again would be refused again. Not 404 or 409 (the object's state, which
 * callers handle), nor 408 or 429 (try later).
 */
export const isRefusal = (e: unknown): boolean => e instanceof KubeApiError && e.code >= 400 && e.code < 500 && ![404, 408, 409, 429].includes(e.code);

/** A request that has not answered in this long is abandoned (a stalled connection must not hang a writer forever). */
export const REQUEST_TIMEOUT_MS = 30_000;

/**
 * Options for one client-node call: abort it with signal or after timeoutMs
 * (default REQUEST_TIMEOUT_MS; 0: none), send the body as contentType.
 */
export function callOptions(opts: { signal?: AbortSignal; contentType?: string; timeoutMs?: number }): ConfigurationOptions<ObservableMiddleware> {
  const timeoutMs = opts.timeoutMs ?? REQUEST_TIMEOUT_MS;
  const middleware: ObservableMiddleware = {
    pre: (ctx: RequestContext) => {
      const signals = [...(opts.signal ? [opts.signal] : []), ...(timeoutMs > 0 ? [AbortSignal.timeout(timeoutMs)] : [])];
      if (signals.length) ctx.setSignal(AbortSignal.any(signals) as never);
      if (opts.contentType) ctx.setHeaderParam('Content-Type', opts.contentType);
      return new Observable(Promise.resolve(ctx));
    },
    post: (res: ResponseContext) => new Observable(Promise.resolve(res)),
  };
  return { middleware: [middleware], middlewareMergeStrategy: 'append' };
}

/**
 * --kubeconfig FILE, else $KUBECONFIG, else ~/.kube/config, else the in-cluster
 * service account (client-node's loadFromDefault order).
 */
export function loadKubeConfig(file?: string): KubeConfig {
  const kc = new KubeConfig();
  if (file) kc.loadFromFile(file);
  else kc.loadFromDefault();
  if (!kc.getCurrentCluster()) throw new Error('no Kubernetes cluster configured: pass --kubeconfig, set KUBECONFIG, or run in a Pod');
  return kc;
}

/** Resolves after ms, or rejects at once when signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(signal!.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Exponential backoff with jitter (wait.Jitter: base * (1 + jitter * rand)), reset on success. */
export class Backoff {
  private attempt = 0;
  constructor(
    private readonly o: { initialMs: number; maxMs: number; factor?: number; jitter?: number } = { initialMs: 800, maxMs: 30_000 },
    private readonly random: () => number = Math.random,
  ) {}

  next(): number {
    const base = Math.min(this.o.maxMs, this.o.initialMs * (this.o.factor ?? 2) ** this.attempt);
    this.attempt++;
    return Math.round(base * (1 + (this.o.jitter ?? 0.5) * this.random()));
  }

  reset(): void {
    this.attempt = 0;
  }
}
