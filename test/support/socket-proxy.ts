// A unix-socket proxy in front of the real engine, so a test can make the
// engine vanish (connections refused) or wedge (accepted, never answered)
// without touching the engine itself.
import { connect, createServer, type Server, type Socket } from 'node:net';
import { rm } from 'node:fs/promises';

export type ProxyMode = 'pass' | 'hang' | 'down';

export class EngineProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  mode: ProxyMode = 'pass';

  constructor(
    readonly path: string,
    private readonly upstream = '/var/run/docker.sock',
  ) {}

  async start(): Promise<void> {
    await rm(this.path, { force: true });
    this.server = createServer((client) => {
      this.sockets.add(client);
      client.on('close', () => this.sockets.delete(client));
      client.on('error', () => undefined);
      if (this.mode === 'hang') return; // accepted, never answered: a wedged engine
      const up = connect(this.upstream);
      this.sockets.add(up);
      up.on('close', () => this.sockets.delete(up));
      up.on('error', () => client.destroy());
      client.pipe(up).pipe(client);
    });
    await new Promise<void>((resolve) => this.server!.listen(this.path, resolve));
  }

  /** Every open connection is cut (the events stream too), and new ones are refused. */
  async down(): Promise<void> {
    this.mode = 'down';
    await this.close();
  }

  /** New connections hang; open ones are cut, as when the engine wedges and is restarted. */
  hang(): void {
    this.mode = 'hang';
    for (const s of this.sockets) s.destroy();
  }

  async restore(): Promise<void> {
    const wasDown = this.mode === 'down';
    this.mode = 'pass';
    for (const s of this.sockets) s.destroy();
    if (wasDown) await this.start();
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = undefined;
    await rm(this.path, { force: true });
  }
}
