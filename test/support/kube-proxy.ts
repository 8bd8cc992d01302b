// A TCP proxy between the controller and a real cluster's API server, so the
// watch fault tests also run with BERTH_TEST_KUBECONFIG: it breaks every open
// connection (a broken watch) or stops forwarding on the open ones while
// keeping them open (a silently stalled watch: a half-open connection, a wedged
// load balancer). TLS passes through untouched; the kubeconfig it writes keeps
// the server name for certificate checks (tls-server-name).
import { writeFile } from 'node:fs/promises';
import { connect, createServer, isIP, type AddressInfo, type Server, type Socket } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';

interface Pair {
  client: Socket;
  upstream: Socket;
  stalled: boolean;
}

export class KubeTcpProxy {
  private server: Server | undefined;
  private readonly pairs = new Set<Pair>();
  port = 0;

  constructor(private readonly upstream: { host: string; port: number }) {}

  async start(): Promise<void> {
    this.server = createServer((client) => {
      const upstream = connect(this.upstream.port, this.upstream.host);
      const pair: Pair = { client, upstream, stalled: false };
      this.pairs.add(pair);
      const forward = (from: Socket, to: Socket): void => {
        from.on('data', (chunk: Buffer) => {
          if (!pair.stalled) to.write(chunk);
        });
      };
      forward(client, upstream);
      forward(upstream, client);
      const end = (): void => {
        this.pairs.delete(pair);
        client.destroy();
        upstream.destroy();
      };
      for (const s of [client, upstream]) {
        s.on('error', end);
        s.on('close', end);
      }
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server!.address() as AddressInfo).port;
  }

  /** Destroys every open connection mid-stream. */
  breakAll(): void {
    for (const p of [...this.pairs]) {
      p.client.destroy();
      p.upstream.destroy();
    }
  }

  /** The connections open now stay open and carry nothing more, ever. */
  stallAll(): void {
    for (const p of this.pairs) p.stalled = true;
  }

  /** Open connections that still forward (watches are the long-lived ones). */
  liveCount(): number {
    return [...this.pairs].filter((p) => !p.stalled).length;
  }

  async close(): Promise<void> {
    this.breakAll();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/**
 * Puts a proxy in front of kc's API server; returns the proxy and a kubeconfig
 * file (and KubeConfig) that talk to the cluster through it.
 */
export async function proxiedKubeConfig(kc: KubeConfig, file: string): Promise<{ proxy: KubeTcpProxy; kc: KubeConfig }> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('no current cluster');
  const url = new URL(cluster.server);
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  const proxy = new KubeTcpProxy({ host: url.hostname.replace(/^\[|\]$/g, ''), port });
  await proxy.start();
  const exported = JSON.parse(kc.exportConfig()) as { clusters: Array<{ name: string; cluster: Record<string, unknown> }> };
  for (const c of exported.clusters) {
    if (c.name !== cluster.name) continue;
    c.cluster['server'] = `${url.protocol}//127.0.0.1:${proxy.port}${url.pathname === '/' ? '' : url.pathname}`;
    // The certificate names the original host; an IP (kind's 127.0.0.1) is reached as 127.0.0.1 anyway.
    if (url.protocol === 'https:' && !c.cluster['tls-server-name'] && !isIP(url.hostname.replace(/^\[|\]$/g, ''))) c.cluster['tls-server-name'] = url.hostname;
  }
  await writeFile(file, JSON.stringify(exported), { mode: 0o600 });
  const proxied = new KubeConfig();
  proxied.loadFromFile(file);
  return { proxy, kc: proxied };
}
