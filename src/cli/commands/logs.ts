// `berth logs INSTANCE [-f] [--tail N]`: the container's output.
import { StringDecoder } from 'node:string_decoder';
import type { Command } from 'commander';
import { addClientOptions, addNamespaceOptions, clientOf, ioOf, namespaceOf } from '../context.js';
import { CliError } from '../errors.js';
import { instanceName, objectPath } from '../kinds.js';

export function register(program: Command): void {
  const cmd = program
    .command('logs')
    .description("print an instance's container output")
    .argument('<instance>', 'instance name')
    .option('-f, --follow', 'keep printing new output')
    .option('--tail <lines>', 'only the last N lines (-1: all)', '-1');
  addNamespaceOptions(cmd);
  addClientOptions(cmd).action(async (instance: string, flags: { follow?: boolean; tail: string }, cmd: Command) => {
    const io = ioOf(cmd);
    const tail = Number(flags.tail);
    if (!Number.isInteger(tail) || tail < -1) throw new CliError(`--tail must be a whole number of lines (or -1 for all), got ${JSON.stringify(flags.tail)}`);
    const client = await clientOf(cmd);
    const path = objectPath('Instance', namespaceOf(cmd) ?? 'default', instanceName(instance), 'log');
    let res;
    try {
      res = await client.openStream(path, { follow: flags.follow ? 'true' : undefined, tailLines: tail >= 0 ? tail : undefined }, io.interrupted);
    } catch (e) {
      if (io.interrupted?.aborted) return;
      throw e;
    }
    const decoder = new StringDecoder('utf8');
    try {
      for await (const chunk of res as AsyncIterable<Buffer>) io.out(decoder.write(chunk));
      io.out(decoder.end());
    } catch (e) {
      if (!io.interrupted?.aborted) throw e;
    }
  });
}
