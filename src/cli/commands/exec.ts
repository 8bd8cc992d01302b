// `berth exec INSTANCE [-n NS] [--timeout 30s] [-i] -- CMD...`: runs in the
// instance's container; stdout and stderr go to the matching streams and the
// exit code is the command's (124 when it timed out, as timeout(1) does).
import type { Command } from 'commander';
import { addClientOptions, addNamespaceOptions, clientOf, ioOf, namespaceOf, setExitCode } from '../context.js';
import { formatDuration, parseDuration } from '../../spec/duration.js';
import { CliError } from '../errors.js';
import { instanceName, objectPath } from '../kinds.js';

const MAX_TIMEOUT_MS = 600_000;
export const TIMED_OUT_EXIT_CODE = 124;

interface ExecAnswer {
  exitCode: number;
  stdout: string;
  stderr: string;
  durationMs: number;
  timedOut: boolean;
  truncated: boolean;
}

export function register(program: Command): void {
  const cmd = program
    .command('exec')
    .description('run a command in an instance\'s container: berth exec web -- ls -l /')
    .argument('<instance>', 'instance name')
    .argument('[command...]', 'the command and its arguments, after --')
    .option('--timeout <duration>', 'kill the command after this long (e.g. 30s, 2m; at most 10m)', '30s')
    .option('-i, --stdin', 'pass standard input to the command');
  addNamespaceOptions(cmd);
  addClientOptions(cmd).action(async (instance: string, command: string[], flags: { timeout: string; stdin?: boolean }, cmd: Command) => {
    const io = ioOf(cmd);
    if (command.length === 0) throw new CliError(`give the command after --: berth exec ${instance} -- CMD [ARGS...]`);
    let timeoutMs: number;
    try {
      timeoutMs = parseDuration(flags.timeout);
    } catch (e) {
      throw new CliError(`--timeout: ${(e as Error).message}`);
    }
    if (timeoutMs <= 0 || timeoutMs > MAX_TIMEOUT_MS) throw new CliError(`--timeout must be more than 0 and at most ${formatDuration(MAX_TIMEOUT_MS)}`);
    const stdin = flags.stdin ? await io.readStdin() : undefined;
    const client = await clientOf(cmd);
    const { body } = await client.request<ExecAnswer>('POST', objectPath('Instance', namespaceOf(cmd) ?? 'default', instanceName(instance), 'exec'), {
      body: { command, timeoutSeconds: timeoutMs / 1000, ...(stdin !== undefined ? { stdin } : {}) },
    });
    if (body.stdout) io.out(body.stdout);
    if (body.stderr) io.err(body.stderr);
    if (body.truncated) io.err('berth: output was truncated (the controller caps each stream)\n');
    if (body.timedOut) {
      io.err(`berth: command timed out after ${formatDuration(timeoutMs)} and was killed\n`);
      setExitCode(cmd, TIMED_OUT_EXIT_CODE);
      return;
    }
    setExitCode(cmd, body.exitCode >= 0 && body.exitCode <= 255 ? body.exitCode : 1);
  });
}
