// `berth delete -f FILE|DIR` and `berth delete TYPE NAME... | TYPE/NAME`.
import type { Command } from 'commander';
import type { Kind } from '../../spec/schema.js';
import { ApiStatusError } from '../client.js';
import { addClientOptions, addNamespaceOptions, clientOf, ioOf, namespaceOf, setExitCode } from '../context.js';
import { CliError } from '../errors.js';
import { objectPath, parseTarget, typeName } from '../kinds.js';
import { loadForClient } from '../specs.js';

interface Target {
  kind: Kind;
  namespace: string;
  name: string;
}

export function register(program: Command): void {
  const cmd = program
    .command('delete')
    .description('delete resources named in files, or by type and name')
    .argument('[type]', 'resource type (instance, pool, claim, ...) or TYPE/NAME')
    .argument('[names...]', 'names')
    .option('-f, --filename <path...>', 'spec files or directories ("-" for stdin)')
    .option('--ignore-not-found', 'treat "not found" as success', false);
  addNamespaceOptions(cmd);
  addClientOptions(cmd).action(async (type: string | undefined, names: string[], opts: { filename?: string[]; ignoreNotFound: boolean }, cmd: Command) => {
    const io = ioOf(cmd);
    const targets: Target[] = [];
    if (opts.filename) {
      if (type !== undefined) throw new CliError('give either -f FILE or TYPE NAME, not both');
      const { resources, errors } = await loadForClient(opts.filename, io);
      for (const e of errors) io.err(`${e.format()}\n`);
      if (errors.length > 0) setExitCode(cmd, 1);
      for (const { resource } of resources) targets.push({ kind: resource.kind, namespace: resource.metadata.namespace, name: resource.metadata.name });
    } else {
      if (type === undefined) throw new CliError('what to delete: berth delete -f FILE, berth delete TYPE NAME or berth delete TYPE/NAME');
      const first = parseTarget(type);
      const all = first.name !== undefined ? [first.name, ...names] : names;
      if (all.length === 0) throw new CliError(`which ${typeName(first.kind)} to delete: give a name (berth delete ${type} NAME)`);
      const namespace = namespaceOf(cmd) ?? 'default';
      for (const name of all) targets.push({ kind: first.kind, namespace, name });
    }
    const client = await clientOf(cmd);
    for (const t of targets) {
      try {
        await client.request('DELETE', objectPath(t.kind, t.namespace, t.name));
        io.out(`${typeName(t.kind)} "${t.name}" deleted\n`);
      } catch (e) {
        if (!(e instanceof ApiStatusError)) throw e;
        if (e.httpStatus === 404 && opts.ignoreNotFound) continue;
        setExitCode(cmd, 1);
        io.err(`Error from server (${e.reason}): ${e.message}\n`);
      }
    }
  });
}
