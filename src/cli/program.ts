// The `berth` program: global options, one register() per command, and the
// mapping of failures to messages and exit codes.
import { Command, CommanderError } from 'commander';
import { toCliError } from './client.js';
import { addClientOptions, attachRunState, exitCodeOf } from './context.js';
import { CliError } from './errors.js';
import { processIo, type Io } from './io.js';

/** A command module: adds its command to the program. */
export type Register = (program: Command) => void;

export function createProgram(registers: readonly Register[], io: Io = processIo()): Command {
  const program = new Command('berth')
    .description('declarative containers: Instances, warm InstancePools and InstanceClaims, kubectl-style')
    .enablePositionalOptions()
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) });
  addClientOptions(program);
  attachRunState(program, io);
  for (const register of registers) register(program);
  return program;
}

/** Runs the program on argv (process.argv form unless from is 'user'); returns the exit code. */
export async function run(argv: readonly string[], registers: readonly Register[], io: Io = processIo(), from: 'node' | 'user' = 'node'): Promise<number> {
  const program = createProgram(registers, io);
  try {
    await program.parseAsync([...argv], { from });
    return exitCodeOf(program);
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    const mapped = toCliError(e);
    const err = mapped ?? (e instanceof Error ? new CliError(e.message, 1, [], { cause: e }) : new CliError(String(e)));
    io.err(err.format());
    // An unexpected failure (a bug, not bad input): the stack helps, on request.
    if (!mapped && process.env['BERTH_DEBUG'] && e instanceof Error && e.stack) io.err(`${e.stack}\n`);
    return Math.max(err.exitCode, exitCodeOf(program));
  }
}
