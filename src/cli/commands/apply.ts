// `berth apply -f FILE|DIR|-`: every valid resource is sent (PUT), invalid
// ones are reported `file:line path: message` and make the exit code 1.
import type { Command } from 'commander';
import type { Kind } from '../../spec/schema.js';
import { ApiStatusError } from '../client.js';
import { addClientOptions, clientOf, ioOf, setExitCode } from '../context.js';
import { CliError } from '../errors.js';
import { objectName, objectPath } from '../kinds.js';
import { applyBody, loadForClient } from '../specs.js';

const CHANGE_WORDS: Record<string, string> = { created: 'created', updated: 'configured', unchanged: 'unchanged' };

export function register(program: Command): void {
  const cmd = program
    .command('apply')
    .description('create or update resources from files, directories or stdin ("-")')
    .requiredOption('-f, --filename <path...>', 'spec files or directories ("-" for stdin)');
  addClientOptions(cmd).action(async (opts: { filename: string[] }, cmd: Command) => {
    const io = ioOf(cmd);
    const { resources, errors } = await loadForClient(opts.filename, io);
    for (const e of errors) io.err(`${e.format()}\n`);
    if (errors.length > 0) setExitCode(cmd, 1);
    if (resources.length === 0) {
      if (errors.length === 0) throw new CliError(`no objects passed to apply (nothing in ${opts.filename.join(', ')})`);
      return;
    }
    const client = await clientOf(cmd);
    for (const { resource, file, line } of resources) {
      const kind: Kind = resource.kind;
      const { name, namespace } = resource.metadata;
      const what = objectName(kind, name);
      try {
        const res = await client.request<unknown>('PUT', objectPath(kind, namespace, name), { body: applyBody(resource) });
        const header = res.headers['x-berth-change'];
        const change = typeof header === 'string' ? header : res.status === 201 ? 'created' : 'updated';
        io.out(`${what} ${CHANGE_WORDS[change] ?? change}\n`);
      } catch (e) {
        if (!(e instanceof ApiStatusError)) throw e; // unreachable or a bug: stop here
        setExitCode(cmd, 1);
        const causes = e.causes;
        if (causes.length > 0) {
          io.err(`error: ${what} was refused by the controller (${e.reason}):\n`);
          for (const c of causes) io.err(`${file}:${line} ${c.field ? `${c.field}: ` : ''}${c.message}\n`);
        } else {
          io.err(`error: ${file}:${line} ${what}: ${e.message}\n`);
        }
      }
    }
  });
}
