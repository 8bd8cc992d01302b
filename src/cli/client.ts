// The controller's HTTP API as the CLI uses it, on node:http rather than fetch:
// fetch (undici) gives up on headers after 5 minutes and on a body idle for 5
// minutes, and an exec may take 10 minutes and a quiet `get -w` or `logs -f`
// may idle for hours.
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import { StringDecoder } from 'node:string_decoder';
import { CliError, EXIT } from './errors.js';
import { localhostAwareLookup } from '../api/listen.js';

export const DEFAULT_SERVER = 'http://127.0.0.1:7070';

export interface StatusBody {
  kind: 'Status';
  status?: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  code?: number;
  details?: { name?: string; kind?: string; causes?: { field?: string; message?: string }[] };
}

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'ERROR';
  object: T;
}

export type Query = Record<string, string | number | boolean | undefined>;

/** The server answered with an error Status. */
export class ApiStatusError extends Error {
  override readonly name = 'ApiStatusError';
  constructor(
    readonly httpStatus: number,
    readonly status: StatusBody | undefined,
    message: string,
  ) {
    super(message);
  }
  get reason(): string {
    return this.status?.reason ?? (this.httpStatus === 404 ? 'NotFound' : `HTTP ${this.httpStatus}`);
  }
  get causes(): { field: string; message: string }[] {
    return (this.status?.details?.causes ?? []).map((c) => ({ field: c.field ?? '', message: c.message ?? '' }));
  }
}

/** No connection to the controller at all. */
export class UnreachableError extends Error {
  override readonly name = 'UnreachableError';
  constructor(
    readonly server: string,
    readonly code: string | undefined,
    options: { cause: unknown },
  ) {
    super(`cannot reach ${server}${code ? ` (${code})` : ''}`, options);
  }
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'EPIPE',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
]);

/** The first network error code anywhere in an error's cause chain (or in an AggregateError of several addresses). */
export function networkCode(e: unknown, depth = 0): string | undefined {
  if (depth > 5 || typeof e !== 'object' || e === null) return undefined;
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return code;
  for (const inner of (e as { errors?: unknown[] }).errors ?? []) {
    const c = networkCode(inner, depth + 1);
    if (c) return c;
  }
  return networkCode((e as { cause?: unknown }).cause, depth + 1);
}

export class BerthClient {
  constructor(
    readonly server: string,
    private readonly token?: string,
  ) {}

  url(path: string, query: Query = {}): URL {
    const url = new URL(path, this.server.endsWith('/') ? this.server : this.server + '/');
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
    return url;
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { Accept: 'application/json', ...(this.token ? { Authorization: `Bearer ${this.token}` } : {}), ...extra };
  }

  async request<T>(method: string, path: string, opts: { query?: Query; body?: unknown; signal?: AbortSignal } = {}): Promise<{ status: number; headers: IncomingHttpHeaders; body: T }> {
    const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const res = await this.send(method, this.url(path, opts.query), payload, opts.signal);
    const code = res.statusCode ?? 0;
    let text: string;
    try {
      text = await readAll(res);
    } catch (e) {
      throw this.connectionError(e);
    }
    if (code < 200 || code >= 300) throw statusError(code, text);
    let body: T;
    try {
      body = (text === '' ? undefined : JSON.parse(text)) as T;
    } catch (e) {
      throw new CliError(`the server at ${this.server} did not answer with JSON (HTTP ${code}); is --server pointing at a berth controller?`, EXIT.failure, [], { cause: e });
    }
    return { status: code, headers: res.headers, body };
  }

  /** One exchange with a binary body (a tar for berth cp); a non-2xx answer throws its Status. */
  async requestBytes(method: string, path: string, opts: { query?: Query; body?: Buffer; contentType?: string; signal?: AbortSignal } = {}): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
    const res = await this.send(method, this.url(path, opts.query), opts.body, opts.signal, opts.contentType);
    const code = res.statusCode ?? 0;
    let body: Buffer;
    try {
      const chunks: Buffer[] = [];
      for await (const c of res as AsyncIterable<Buffer>) chunks.push(c);
      body = Buffer.concat(chunks);
    } catch (e) {
      throw this.connectionError(e);
    }
    if (code < 200 || code >= 300) throw statusError(code, body.toString('utf8'));
    return { status: code, headers: res.headers, body };
  }

  async get<T>(path: string, query?: Query, signal?: AbortSignal): Promise<T> {
    return (await this.request<T>('GET', path, { ...(query ? { query } : {}), ...(signal ? { signal } : {}) })).body;
  }

  /** A long-lived GET; the response is checked, so a 4xx/5xx throws here. */
  async openStream(path: string, query: Query, signal?: AbortSignal): Promise<IncomingMessage> {
    const res = await this.send('GET', this.url(path, query), undefined, signal);
    const code = res.statusCode ?? 0;
    if (code >= 200 && code < 300) return res;
    throw statusError(code, await readAll(res).catch(() => ''));
  }

  /** One HTTP exchange, resolved at the response headers (any status). No client-side timeout: exec may run 10 minutes. */
  private send(method: string, url: URL, payload: string | Buffer | undefined, signal?: AbortSignal, contentType = 'application/json'): Promise<IncomingMessage> {
    const lib = url.protocol === 'https:' ? https : http;
    const headers = this.headers(payload === undefined ? {} : { 'Content-Type': contentType, 'Content-Length': String(Buffer.byteLength(payload)) });
    return new Promise<IncomingMessage>((resolve, reject) => {
      const req = lib.request(url, { method, headers, lookup: localhostAwareLookup, ...(signal ? { signal } : {}) }, resolve);
      req.on('error', (e) => reject(signal?.aborted ? e : this.connectionError(e)));
      req.end(payload);
    });
  }

  /**
   * Streams watch events to `onEvent` until the server ends the stream (resolves),
   * the signal aborts (resolves), or the connection fails (rejects).
   */
  async watch<T>(path: string, query: Query, onEvent: (e: WatchEvent<T>) => void, signal?: AbortSignal): Promise<void> {
    let res: IncomingMessage;
    try {
      res = await this.openStream(path, { ...query, watch: true }, signal);
    } catch (e) {
      if (signal?.aborted) return;
      throw e;
    }
    let buffered = '';
    const decoder = new StringDecoder('utf8'); // a character may straddle two chunks
    try {
      for await (const chunk of res as AsyncIterable<Buffer>) {
        buffered += decoder.write(chunk);
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl).trim();
          buffered = buffered.slice(nl + 1);
          if (line === '') continue;
          const event = JSON.parse(line) as WatchEvent<T>;
          if (event.type === 'ERROR') {
            const st = event.object as unknown as StatusBody;
            throw new ApiStatusError(st.code ?? 500, st, st.message ?? 'watch failed');
          }
          onEvent(event);
        }
      }
    } catch (e) {
      if (signal?.aborted) return;
      if (e instanceof ApiStatusError || e instanceof SyntaxError) throw e;
      throw this.connectionError(e);
    }
  }

  private connectionError(e: unknown): unknown {
    const code = networkCode(e);
    return code ? new UnreachableError(this.server, code, { cause: e }) : e;
  }
}

async function readAll(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of res as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
}

function statusError(code: number, text: string): ApiStatusError {
  let status: StatusBody | undefined;
  try {
    const parsed = JSON.parse(text) as { kind?: unknown };
    if (parsed && parsed.kind === 'Status') status = parsed as StatusBody;
  } catch {
    // not a Status: the message says what came back
  }
  const message = status?.message ?? (text.trim().slice(0, 200) || `HTTP ${code}`);
  return new ApiStatusError(code, status, message);
}

/** "Instance "web" is invalid: a; b" -> "Instance "web" is invalid", when the causes are listed below it. */
function headline(message: string): string {
  const i = message.indexOf(' is invalid: ');
  return i < 0 ? message : message.slice(0, i + ' is invalid'.length);
}

/**
 * What the user sees for a client failure: unreachable -> exit 3 with how to
 * start the controller; a Status -> its reason and message (and failing fields), exit 1.
 */
export function toCliError(e: unknown, server?: string): CliError | undefined {
  if (e instanceof CliError) return e;
  if (e instanceof UnreachableError || networkCode(e)) {
    const code = e instanceof UnreachableError ? e.code : networkCode(e);
    server ??= e instanceof UnreachableError ? e.server : DEFAULT_SERVER;
    const hint = 'start it with: berth controller --specs ./examples';
    const message =
      code === 'ECONNREFUSED'
        ? `cannot reach the berth controller at ${server} — ${hint}`
        : `cannot reach the berth controller at ${server} (${code}) — check --server / BERTH_SERVER, or ${hint}`;
    return new CliError(message, EXIT.unreachable, [], { cause: e });
  }
  if (e instanceof ApiStatusError) {
    const causes = e.causes;
    const details = causes.map((c) => `  ${c.field ? `${c.field}: ` : ''}${c.message}`);
    if (e.httpStatus === 401) details.push('  (pass --token-file FILE or set BERTH_TOKEN_FILE to the controller\'s token file)');
    return new CliError(`Error from server (${e.reason}): ${causes.length > 0 ? headline(e.message) : e.message}`, EXIT.failure, details, { cause: e, plain: true });
  }
  return undefined;
}
