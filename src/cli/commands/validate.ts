// `berth validate -f FILE|DIR|-...`: offline; every error as `file:line path: message`.
import type { Command } from 'commander';
import { ioOf, setExitCode } from '../context.js';
import { CliError } from '../errors.js';
import { loadForClient } from '../specs.js';
import { addPolicyOptions, policyFromFlags } from '../policy-flags.js';

export function register(program: Command): void {
  const cmd = program
    .command('validate')
    .description("check spec files offline against the schemas and the controller's isolation policy (the default one, plus the --allow-* flags given)")
    .requiredOption('-f, --filename <path...>', 'spec files or directories ("-" for stdin)');
  addPolicyOptions(cmd).action(async (opts: { filename: string[] } & Record<string, unknown>, cmd: Command) => {
      const io = ioOf(cmd);
      const { resources, errors } = await loadForClient(opts.filename, io, policyFromFlags(opts));
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
