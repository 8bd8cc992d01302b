// In a fresh process: other test files in this worker may have loaded dockerode (and its session) already.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const MODULE = fileURLToPath(new URL('./dockerode.ts', import.meta.url));

describe('dockerode without its BuildKit session, and ssh2 only when an ssh:// engine is used', () => {
  it('loads a working client, never gRPC, and a session call says why it fails', () => {
    const script = `
      const { Dockerode } = await import(${JSON.stringify(MODULE)});
      const { createRequire } = await import('node:module');
      const require = createRequire(${JSON.stringify(MODULE)});
      const client = new Dockerode({ socketPath: '/nonexistent.sock' });
      let message = '';
      try { require('dockerode/lib/session.js')(); } catch (e) { message = e.message; }
      console.log(JSON.stringify({
        client: typeof client.listContainers,
        grpc: Object.keys(require.cache).some((k) => k.includes('@grpc')),
        message,
        ssh2BeforeUse: Object.keys(require.cache).some((k) => k.includes('/ssh2/')),
        sshAgent: (() => {
          // What docker-modem does for an ssh:// host: the real transport loads on this first call.
          const modemRequire = createRequire(require.resolve('dockerode'));
          const agent = modemRequire('docker-modem/lib/ssh.js')({ host: '127.0.0.1', port: 1 });
          return typeof agent.createConnection;
        })(),
        ssh2AfterUse: Object.keys(require.cache).some((k) => k.includes('/ssh2/')),
      }));`;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(JSON.parse(out.trim().split('\n').pop()!)).toEqual({
      client: 'function',
      grpc: false,
      message: expect.stringContaining('without BuildKit sessions'),
      ssh2BeforeUse: false,
      sshAgent: 'function',
      ssh2AfterUse: true,
    });
  });
});
