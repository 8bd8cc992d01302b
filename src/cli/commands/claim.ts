// `berth claim POOL [--ttl 60s] [--wait 10s]`: lease a warm member of a pool.
import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { API_VERSION } from '../../spec/schema.js';
import { addClientOptions, addNamespaceOptions, clientOf, ioOf, namespaceOf } from '../context.js';
import { formatDuration, parseDuration } from '../../spec/duration.js';
import { CliError } from '../errors.js';
import { collectionPath, objectName } from '../kinds.js';
import { conditionOf, statusString, type ApiObject } from '../objects.js';
import { formatObject, parseOutputFormat } from '../output.js';

/** A claim name that is unique enough and says which pool it is for: py-runner-k3x9q. */
export function claimName(pool: string): string {
  const suffix = randomBytes(4).readUInt32BE(0).toString(36).padStart(5, '0').slice(-5);
  return `${pool.slice(0, 63 - 6)}-${suffix}`;
}

function seconds(flag: string, text: string): number {
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch (e) {
    throw new CliError(`${flag}: ${(e as Error).message}`);
  }
  if (ms < 1000) throw new CliError(`${flag} must be at least 1s`);
  return Math.ceil(ms / 1000);
}

export function register(program: Command): void {
  const cmd = program
    .command('claim')
    .description('claim a warm member of an InstancePool (an InstanceClaim)')
    .argument('<pool>', 'pool name')
    .option('--ttl <duration>', 'lease length; the claim is released when it runs out (e.g. 60s, 10m)')
    .option('--wait <duration>', 'wait this long for the claim to be bound (e.g. 10s); 0 returns at once', '10s')
    .option('--name <name>', 'claim name (default: POOL-<random>)')
    .option('-o, --output <format>', 'name, yaml or json (default: a sentence)');
  addNamespaceOptions(cmd);
  addClientOptions(cmd).action(async (pool: string, flags: { ttl?: string; wait: string; name?: string; output?: string }, cmd: Command) => {
    const io = ioOf(cmd);
    const format = flags.output === undefined ? undefined : parseOutputFormat(flags.output);
    if (format === 'table' || format === 'wide') throw new CliError('-o for claim: use name, yaml or json');
    let waitMs: number;
    try {
      waitMs = parseDuration(flags.wait);
    } catch (e) {
      throw new CliError(`--wait: ${(e as Error).message}`);
    }
    const namespace = namespaceOf(cmd) ?? 'default';
    const name = flags.name ?? claimName(pool);
    const claim = {
      apiVersion: API_VERSION,
      kind: 'InstanceClaim',
      metadata: { name, namespace },
      spec: { poolRef: { name: pool }, ...(flags.ttl ? { ttlSeconds: seconds('--ttl', flags.ttl) } : {}) },
    };
    const client = await clientOf(cmd);
    const { body } = await client.request<ApiObject>('POST', collectionPath('InstanceClaim', namespace), {
      body: claim,
      query: { wait: waitMs > 0 ? formatDuration(waitMs) : undefined },
    });
    const phase = statusString(body, 'phase') ?? 'Pending';
    if (format) io.out(formatObject(body, format, 'InstanceClaim'));
    else if (phase === 'Bound') {
      const container = statusString(body, 'containerId');
      io.out(`${objectName('InstanceClaim', name)} bound to instance ${statusString(body, 'instance') ?? '<unknown>'}${container ? ` (container ${container.slice(0, 12)})` : ''}\n`);
    } else io.out(`${objectName('InstanceClaim', name)} created (${phase})\n`);
    if (waitMs > 0 && phase !== 'Bound') {
      // The claim's Bound condition says why when it is not the usual wait: a pool that does not exist (yet), a timeout.
      const bound = conditionOf(body, 'Bound');
      const why =
        phase === 'Pending'
          ? `not bound within ${formatDuration(waitMs)}: ${bound?.reason === 'PoolNotFound' && bound.message ? bound.message : `no free member of pool ${pool} yet`}`
          : `claim is ${phase}${bound?.reason ? ` (${bound.reason}${bound.message ? `: ${bound.message}` : ''})` : ''}`;
      const see = `see: berth describe claim ${name} -n ${namespace}`;
      const release = `berth release ${name} -n ${namespace}`;
      throw new CliError(why, 1, [phase === 'Pending' ? `  it stays queued; ${see}; give it up: ${release}` : `  ${see}; remove it: ${release}`]);
    }
  });
}
