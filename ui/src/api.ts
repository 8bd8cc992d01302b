// The page's only way to data: the controller's API, list + watch, with the
// token the user gave (sessionStorage). A watch that ends (controller restart)
// or answers 410 is re-listed and resumed; 401 ends everything and shows the
// login prompt. Nothing polls.
export const API = '/apis/berth.dev/v1alpha1';
const TOKEN_KEY = 'berth-token';

export class Unauthorized extends Error {}

export function getToken(): string | undefined {
  return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
}
export function setToken(token: string | undefined): void {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

function headers(): HeadersInit {
  const t = getToken();
  return t ? { Authorization: `Bearer ${t}`, Accept: 'application/json' } : { Accept: 'application/json' };
}

class Gone extends Error {}

async function getJson<T>(path: string, signal: AbortSignal): Promise<T> {
  const r = await fetch(path, { headers: headers(), signal, cache: 'no-store' });
  if (r.status === 401) throw new Unauthorized('the token was not accepted');
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
  return (await r.json()) as T;
}

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'ERROR';
  object: T;
}

/** Reads newline-delimited watch events until the stream ends. */
async function readStream<T>(path: string, signal: AbortSignal, onEvent: (e: WatchEvent<T>) => void, onOpen: () => void): Promise<void> {
  const r = await fetch(path, { headers: headers(), signal, cache: 'no-store' });
  if (r.status === 401) throw new Unauthorized('the token was not accepted');
  if (r.status === 410) throw new Gone();
  if (!r.ok || !r.body) throw new Error(`${path}: HTTP ${r.status}`);
  onOpen();
  const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffered += value;
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl).trim();
      buffered = buffered.slice(nl + 1);
      if (!line) continue;
      const e = JSON.parse(line) as WatchEvent<T>;
      if (e.type === 'ERROR') {
        if ((e.object as { code?: number }).code === 410) throw new Gone();
        throw new Error((e.object as { message?: string }).message ?? 'watch failed');
      }
      onEvent(e);
    }
  }
}

export type LinkState = 'connecting' | 'live' | 'reconnecting';

export interface ListWatchHandlers<T> {
  /** A fresh list: replaces everything known. */
  reset(items: T[]): void;
  event(e: WatchEvent<T>): void;
  state(s: LinkState, detail?: string): void;
  unauthorized(): void;
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

/** List, then watch from the list's resourceVersion; again from a fresh list whenever the watch ends. */
export async function listWatch<T>(path: string, h: ListWatchHandlers<T>, signal: AbortSignal, listed = true): Promise<void> {
  let backoff = 250;
  while (!signal.aborted) {
    try {
      let query = 'watch=true';
      if (listed) {
        const list = await getJson<{ items: T[]; metadata?: { resourceVersion?: string } }>(path, signal);
        h.reset(list.items);
        query += `&resourceVersion=${encodeURIComponent(list.metadata?.resourceVersion ?? '0')}`;
      }
      await readStream<T>(`${path}${path.includes('?') ? '&' : '?'}${query}`, signal, (e) => h.event(e), () => {
        backoff = 250;
        h.state('live');
      });
      if (signal.aborted) return;
      h.state('reconnecting', 'the watch ended');
    } catch (e) {
      if (signal.aborted) return;
      if (e instanceof Unauthorized) return h.unauthorized();
      if (e instanceof Gone) {
        h.state('reconnecting', 'resource version too old (410): re-listing');
        continue;
      }
      h.state('reconnecting', e instanceof Error ? e.message : String(e));
    }
    await sleep(backoff, signal);
    backoff = Math.min(backoff * 2, 5_000);
  }
}
