// `berth validate -f FILE|DIR|-...`: offline; every error as `file:line path: message`.
import type { Command } from 'commander';
import { DEFAULT_POLICY } from '../../spec/policy.js';
import { ioOf, setExitCode } from '../context.js';
import { CliError } from '../errors.js';
import { loadForClient } from '../specs.js';

export function register(program: Command): void {
  program
    .command('validate')
    .description("check spec files offline against the schemas and the default controller's policy")
    .requiredOption('-f, --filename <path...>', 'spec files or directories ("-" for stdin)')
    .action(async (opts: { filename: string[] }, cmd: Command) => {
      const io = ioOf(cmd);
      const { resources, errors } = await loadForClient(opts.filename, io, DEFAULT_POLICY);
      for (const e of errors) io.out(`${e.format()}\n`);
      const n = resources.length;
      const noun = (k: number, w: string): string => `${k} ${w}${k === 1 ? '' : 's'}`;
      if (errors.length > 0) {
        io.err(`${noun(errors.length, 'error')}; ${noun(n, 'resource')} valid\n`);
        setExitCode(cmd, 1);
        return;
      }
      if (n === 0) throw new CliError(`no resources found in ${opts.filename.join(', ')}`);
      io.out(`${noun(n, 'resource')} valid\n`);
    });
}
