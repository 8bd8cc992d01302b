// An HTTP proxy in front of a real kube-apiserver, for the faults a healthy
// cluster will not produce on demand: answers a client must handle (429 with
// Retry-After, 500, 503, a 409 on a write), a watch whose resourceVersion was
// compacted away (the apiserver's 410 Expired, sent as an ERROR event in a 200
// stream, as kube-apiserver does), watches broken or silently stalled
// mid-stream, and an answer held back after the apiserver gave it (a read
// served before a write that is answered first). Everything else is
// forwarded to the real apiserver with the kubeconfig's own credentials, so
// what the client sees is the cluster's own answers, and the log of requests
// says exactly what the client asked.
//
// The client talks plain HTTP on 127.0.0.1 to the proxy (no credentials of its
// own: the proxy adds them upstream). Only what client-node sends over plain
// requests and chunked streams passes: exec/attach (websocket upgrades) go to
// the apiserver directly.
import { writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';

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
  /** How many requests it answers (default 1; Infinity until removed). */
  times?: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  status: number;
}

/** Requests whose answers the proxy keeps until released (holdAnswers). */
export interface HeldAnswers {
  /** Resolves once a matching request was answered by the apiserver (and is being held). */
  answered: Promise<void>;
  /** Passes the held answers on, and stops holding. */
  release(): void;
}

interface Hold {
  method?: string;
  path: string | RegExp;
  times: number;
  released: Promise<void>;
  onAnswered(): void;
}

interface OpenWatch {
  res: ServerResponse;
  upstream: IncomingMessage;
  stalled: boolean;
}

export class KubeFaultProxy {
  readonly requests: RecordedRequest[] = [];
  private readonly faults: Array<Fault & { times: number }> = [];
  private readonly holds: Hold[] = [];
  private readonly watches = new Set<OpenWatch>();
  private readonly sockets = new Set<Socket>();
  private expireNext = 0;
  private compactedBefore: bigint | undefined;
  private server: Server | undefined;
  private upstream: URL | undefined;
  private upstreamOptions: RequestOptions = {};
  url = '';

  constructor(private readonly kc: KubeConfig) {}

  async start(): Promise<void> {
    const cluster = this.kc.getCurrentCluster();
    if (!cluster) throw new Error('kube-fault-proxy: the kubeconfig has no current cluster');
    this.upstream = new URL(cluster.server);
    const opts: RequestOptions = {};
    await this.kc.applyToHTTPSOptions(opts);
    this.upstreamOptions = opts;
    this.server = createServer((req, res) => this.handle(req, res));
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** A KubeConfig (and its file) whose cluster is this proxy. */
  async kubeConfig(file?: string): Promise<KubeConfig> {
    const doc = {
      apiVersion: 'v1',
      kind: 'Config',
      // client-node refuses plain http unless TLS checks are declared off (there is no TLS on this leg).
      clusters: [{ name: 'proxy', cluster: { server: this.url, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'proxy', user: {} }],
      contexts: [{ name: 'proxy', context: { cluster: 'proxy', user: 'proxy', namespace: 'default' } }],
      'current-context': 'proxy',
    };
    if (file) await writeFile(file, JSON.stringify(doc), { mode: 0o600 });
    const kc = new KubeConfig();
    kc.loadFromString(JSON.stringify(doc));
    return kc;
  }

  injectFault(fault: Fault): () => void {
    const f = { ...fault, times: fault.times ?? 1 };
    this.faults.push(f);
    return () => {
      const i = this.faults.indexOf(f);
      if (i >= 0) this.faults.splice(i, 1);
    };
  }

  /**
   * The next `times` non-watch requests matching method and path go to the
   * apiserver at once, but their answers reach the client only on release().
   */
  holdAnswers(match: { method?: string; path: string | RegExp; times?: number }): HeldAnswers {
    let release!: () => void;
    let onAnswered!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const answered = new Promise<void>((r) => (onAnswered = r));
    const hold: Hold = { ...(match.method ? { method: match.method } : {}), path: match.path, times: match.times ?? 1, released, onAnswered };
    this.holds.push(hold);
    return {
      answered,
      release: () => {
        const i = this.holds.indexOf(hold);
        if (i >= 0) this.holds.splice(i, 1);
        release();
      },
    };
  }

  /**
   * The next `count` watches are answered as kube-apiserver answers a watch
   * from a compacted resourceVersion: 200, then one ERROR event with a 410
   * Expired Status, then the end of the stream.
   */
  expireNextWatches(count = 1): void {
    this.expireNext += count;
  }

  /**
   * From now on, a watch that resumes from a resourceVersion older than rv
   * hears 410 Expired, as after etcd compacted history up to rv: unlike a
   * count of watches, it cannot be spent on another informer's second try.
   */
  compactBefore(rv: string): void {
    this.compactedBefore = BigInt(rv);
  }

  private resumesFromCompacted(query: Record<string, string>): boolean {
    const rv = query['resourceVersion'];
    if (this.compactedBefore === undefined || !rv || !/^\d+$/.test(rv) || rv === '0') return false;
    return BigInt(rv) < this.compactedBefore;
  }

  /** Ends every open watch abruptly. */
  breakWatches(): void {
    for (const w of [...this.watches]) {
      w.upstream.destroy();
      w.res.destroy();
    }
  }

  /** The watches open now carry nothing more, ever, and stay open. */
  stallWatches(): void {
    for (const w of this.watches) w.stalled = true;
  }

  /** Watches open and delivering now. */
  watchCount(): number {
    return [...this.watches].filter((w) => !w.stalled).length;
  }

  async close(): Promise<void> {
    this.breakWatches();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const u = new URL(req.url ?? '/', 'http://proxy');
    const query = Object.fromEntries(u.searchParams);
    const isWatch = query['watch'] === 'true' || query['watch'] === '1';
    const record: RecordedRequest = { method: req.method ?? 'GET', path: u.pathname, query, status: 0 };
    this.requests.push(record);
    const fault = this.faults.find(
      (f) =>
        f.times > 0 &&
        (f.method === undefined || f.method === record.method) &&
        (f.watch === undefined || f.watch === isWatch) &&
        (f.path === undefined || (typeof f.path === 'string' ? u.pathname.includes(f.path) : f.path.test(u.pathname + u.search))),
    );
    if (fault) {
      fault.times--;
      record.status = fault.status;
      req.resume();
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (fault.retryAfterSeconds !== undefined) headers['retry-after'] = String(fault.retryAfterSeconds);
      res.writeHead(fault.status, headers);
      res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code: fault.status, reason: fault.reason ?? 'InternalError', message: fault.message ?? `injected by the test proxy (${fault.status})` }));
      return;
    }
    const compacted = isWatch && this.resumesFromCompacted(query);
    if (isWatch && (compacted || this.expireNext > 0)) {
      if (!compacted) this.expireNext--;
      record.status = 200;
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' });
      const status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `too old resource version: ${query['resourceVersion'] ?? ''} (injected by the test proxy)`, reason: 'Expired', code: 410 };
      res.end(JSON.stringify({ type: 'ERROR', object: status }) + '\n');
      return;
    }
    this.forward(req, res, record, isWatch);
  }

  private forward(req: IncomingMessage, res: ServerResponse, record: RecordedRequest, isWatch: boolean): void {
    const up = this.upstream!;
    const target = req.url ?? '/';
    const hold = isWatch
      ? undefined
      : this.holds.find((h) => h.times > 0 && (h.method === undefined || h.method === record.method) && (typeof h.path === 'string' ? record.path.includes(h.path) : h.path.test(target)));
    if (hold) hold.times--;
    const headers = { ...req.headers, host: up.host };
    delete headers['authorization'];
    delete headers['connection'];
    const upstreamReq = httpsRequest(
      { ...this.upstreamOptions, hostname: up.hostname, port: up.port || 443, method: req.method, path: req.url, headers, agent: false, servername: up.hostname.match(/^[\d.]+$/) ? '' : up.hostname },
      (upstream) => {
        record.status = upstream.statusCode ?? 0;
        if (hold) {
          // The apiserver has answered: the whole answer is kept until the test releases it.
          const chunks: Buffer[] = [];
          upstream.on('data', (c: Buffer) => chunks.push(c));
          upstream.on('end', () => {
            hold.onAnswered();
            void hold.released.then(() => {
              res.writeHead(upstream.statusCode ?? 502, upstream.headers);
              res.end(Buffer.concat(chunks));
            });
          });
          return;
        }
        res.writeHead(upstream.statusCode ?? 502, upstream.headers);
        if (!isWatch) {
          upstream.pipe(res);
          return;
        }
        // kube-apiserver flushes a watch's headers at once (WatchServer.ServeHTTP); Node would hold them until the
        // first chunk, and a watch stalled before its first event would then look unanswered to the client (its
        // connect timeout, not the watchdog, would end it: CI saw two such runs).
        res.flushHeaders();
        const w: OpenWatch = { res, upstream, stalled: false };
        this.watches.add(w);
        upstream.on('data', (chunk: Buffer) => {
          if (!w.stalled) res.write(chunk);
        });
        upstream.on('end', () => {
          this.watches.delete(w);
          if (!w.stalled) res.end();
        });
        upstream.on('error', () => {
          this.watches.delete(w);
          res.destroy();
        });
        res.on('close', () => {
          this.watches.delete(w);
          upstream.destroy();
        });
      },
    );
    upstreamReq.on('error', (e) => {
      record.status = 502;
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`kube-fault-proxy: ${e.message}`);
    });
    req.pipe(upstreamReq);
  }
}

/** Starts a fault proxy in front of kc's cluster. */
export async function startFaultProxy(kc: KubeConfig): Promise<{ proxy: KubeFaultProxy; kc: KubeConfig }> {
  const proxy = new KubeFaultProxy(kc);
  await proxy.start();
  return { proxy, kc: await proxy.kubeConfig() };
}
