// What every command shares: the program's I/O, the controller client built
// from --server / --token-file, namespace flags, and the exit code.
import { Command, Option } from 'commander';
import { readTokenFile } from '../api/listen.js';
import { BerthClient, DEFAULT_SERVER } from './client.js';
import { CliError } from './errors.js';
import type { Io } from './io.js';

interface RunState {
  io: Io;
  exitCode: number;
}
const states = new WeakMap<Command, RunState>();

export function attachRunState(program: Command, io: Io): RunState {
  const state = { io, exitCode: 0 };
  states.set(program, state);
  return state;
}

function rootOf(cmd: Command): Command {
  let c = cmd;
  while (c.parent) c = c.parent;
  return c;
}

function stateOf(cmd: Command): RunState {
  const state = states.get(rootOf(cmd));
  if (!state) throw new Error('command is not part of a program built by createProgram()');
  return state;
}

export const ioOf = (cmd: Command): Io => stateOf(cmd).io;

/** The exit code the command ends with (the highest set wins: a later success never hides a failure). */
export function setExitCode(cmd: Command, code: number): void {
  const state = stateOf(cmd);
  state.exitCode = Math.max(state.exitCode, code);
}
export const exitCodeOf = (program: Command): number => states.get(program)?.exitCode ?? 0;

/**
 * --server and --token-file, on the program (before the command) and on each
 * client command (after it). The program uses positional options, so a command
 * with its own --token-file (`berth controller`) keeps it.
 */
export function addClientOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--server <url>', `controller API address (default ${DEFAULT_SERVER})`).env('BERTH_SERVER'))
    .addOption(new Option('--token-file <file>', 'file holding the bearer token for the API').env('BERTH_TOKEN_FILE'));
}

export function addNamespaceOptions(cmd: Command, opts: { allNamespaces?: boolean } = {}): Command {
  cmd.addOption(new Option('-n, --namespace <ns>', 'namespace').env('BERTH_NAMESPACE').default('default'));
  if (opts.allNamespaces) cmd.option('-A, --all-namespaces', 'across all namespaces');
  return cmd;
}

/** The namespace to use, or undefined for all namespaces. */
export function namespaceOf(cmd: Command): string | undefined {
  const o = cmd.opts<{ namespace?: string; allNamespaces?: boolean }>();
  return o.allNamespaces ? undefined : (o.namespace ?? 'default');
}

/** An option given on the command, else on the program ('' counts as unset: BERTH_SERVER= is common). */
function optionOf(cmd: Command, name: 'server' | 'tokenFile'): string | undefined {
  const own = cmd.opts<Record<string, string | undefined>>()[name];
  const global = rootOf(cmd).opts<Record<string, string | undefined>>()[name];
  return own || global || undefined;
}

export function serverOf(cmd: Command): string {
  return optionOf(cmd, 'server') ?? DEFAULT_SERVER;
}

export async function clientOf(cmd: Command): Promise<BerthClient> {
  const server = serverOf(cmd);
  try {
    new URL(server);
  } catch {
    throw new CliError(`--server ${JSON.stringify(server)} is not a URL (e.g. ${DEFAULT_SERVER})`);
  }
  const tokenFile = optionOf(cmd, 'tokenFile');
  let token: string | undefined;
  if (tokenFile) {
    try {
      token = await readTokenFile(tokenFile);
    } catch (e) {
      throw new CliError((e as Error).message, 1, [], { cause: e });
    }
  }
  return new BerthClient(server, token);
}
