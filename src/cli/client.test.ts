import net, { type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../api/testing/harness.js';
import { ApiStatusError, BerthClient, toCliError, UnreachableError } from './client.js';
import { CliError, EXIT } from './errors.js';

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

describe('client error mapping', () => {
  it('connection refused -> how to start the controller, exit code 3', async () => {
    const server = `http://127.0.0.1:${await closedPort()}`;
    const client = new BerthClient(server);
    const err = await client.get('/apis/berth.dev/v1alpha1/instances').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnreachableError);
    expect((err as UnreachableError).code).toBe('ECONNREFUSED');
    const cli = toCliError(err);
    expect(cli).toBeInstanceOf(CliError);
    expect(cli!.exitCode).toBe(EXIT.unreachable);
    expect(cli!.format()).toBe(`error: cannot reach the berth controller at ${server} — start it with: berth controller --specs ./examples\n`);
  });

  it('streams (watch, logs) map refusal the same way', async () => {
    const client = new BerthClient(`http://127.0.0.1:${await closedPort()}`);
    const err = await client.watch('/apis/berth.dev/v1alpha1/instances', {}, () => undefined).catch((e: unknown) => e);
    expect(toCliError(err)?.exitCode).toBe(3);
  });

  it('an unknown host says to check --server', async () => {
    const err = await new BerthClient('http://berth-does-not-exist.invalid:7070').get('/healthz').catch((e: unknown) => e);
    const cli = toCliError(err);
    expect(cli?.exitCode).toBe(3);
    expect(cli?.message).toMatch(/cannot reach the berth controller at http:\/\/berth-does-not-exist\.invalid:7070 \((ENOTFOUND|EAI_AGAIN)\) — check --server/);
  });

  it('a Status error -> its reason and message, exit 1, invalid fields listed', async () => {
    h = await startHarness();
    const client = new BerthClient(h.base);
    const notFound = await client.get('/apis/berth.dev/v1alpha1/namespaces/default/instances/web').catch((e: unknown) => e);
    expect(notFound).toBeInstanceOf(ApiStatusError);
    expect(toCliError(notFound)?.format()).toBe('Error from server (NotFound): instances.berth.dev "web" not found\n');

    const invalid = await client
      .request('PUT', '/apis/berth.dev/v1alpha1/namespaces/default/instances/web', {
        body: { apiVersion: 'berth.dev/v1alpha1', kind: 'Instance', metadata: { name: 'web' }, spec: { ports: [{ containerPort: 70000 }] } },
      })
      .catch((e: unknown) => e);
    const cli = toCliError(invalid)!;
    expect(cli.exitCode).toBe(1);
    expect(cli.format().split('\n')).toEqual([
      'Error from server (Invalid): Instance "web" is invalid',
      '  spec.image: required field is missing',
      expect.stringMatching(/^ {2}spec\.ports\[0\]\.containerPort: /),
      '',
    ]);
  });

  it('401 adds how to pass the token', async () => {
    h = await startHarness({ token: 't0ken' });
    const err = await new BerthClient(h.base).get('/apis/berth.dev/v1alpha1/instances').catch((e: unknown) => e);
    expect(toCliError(err)?.format()).toMatch(/^Error from server \(Unauthorized\): .*\n {2}\(pass --token-file FILE or set BERTH_TOKEN_FILE/);
    expect(await new BerthClient(h.base, 't0ken').get('/apis/berth.dev/v1alpha1/instances')).toMatchObject({ kind: 'InstanceList' });
  });

  it('something that is not berth answering is said so', async () => {
    h = await startHarness();
    const err = await new BerthClient(h.base).get('/healthz').catch((e: unknown) => e);
    expect(toCliError(err)?.message).toMatch(/did not answer with JSON/);
  });
});
