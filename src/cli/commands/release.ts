// `berth release CLAIM`: give a claimed member back to its pool.
import type { Command } from 'commander';
import { addClientOptions, addNamespaceOptions, clientOf, ioOf, namespaceOf } from '../context.js';
import { CliError } from '../errors.js';
import { objectName, objectPath, parseTarget } from '../kinds.js';

export function register(program: Command): void {
  const cmd = program.command('release').description('release an InstanceClaim (delete it)').argument('<claim>', 'claim name (or claim/NAME)');
  addNamespaceOptions(cmd);
  addClientOptions(cmd).action(async (claim: string, _flags: unknown, cmd: Command) => {
    let name = claim;
    if (claim.includes('/')) {
      const t = parseTarget(claim);
      if (t.kind !== 'InstanceClaim' || t.name === undefined) throw new CliError(`"${claim}" is not a claim (use NAME or claim/NAME)`);
      name = t.name;
    }
    const client = await clientOf(cmd);
    await client.request('DELETE', objectPath('InstanceClaim', namespaceOf(cmd) ?? 'default', name));
    ioOf(cmd).out(`${objectName('InstanceClaim', name)} released\n`);
  });
}
