// `berth events [-w] [-n NS | -A] [--for TYPE/NAME]`: what the controller did and why.
import type { Command } from 'commander';
import { eventColumns, tableOf } from '../columns.js';
import { addClientOptions, addNamespaceOptions, clientOf, ioOf, namespaceOf } from '../context.js';
import { CliError } from '../errors.js';
import { eventsPath, parseTarget } from '../kinds.js';
import type { ApiEvent, ApiList } from '../objects.js';
import { TablePrinter } from '../table.js';

export function register(program: Command): void {
  const cmd = program
    .command('events')
    .description('list recent events, and with -w follow new ones')
    .option('-w, --watch', 'after listing, print new events as they happen')
    .option('--for <target>', 'only events about this object (TYPE/NAME)')
    .option('--types <types>', 'only these types (comma-separated: Normal, Warning)');
  addNamespaceOptions(cmd, { allNamespaces: true });
  addClientOptions(cmd).action(async (flags: { watch?: boolean; for?: string; types?: string }, cmd: Command) => {
    const io = ioOf(cmd);
    const namespace = namespaceOf(cmd);
    const selector: string[] = [];
    if (flags.for) {
      const t = parseTarget(flags.for);
      if (t.name === undefined) throw new CliError(`--for needs TYPE/NAME, e.g. instance/web`);
      selector.push(`involvedObject.kind=${t.kind}`, `involvedObject.name=${t.name}`);
    }
    const types = flags.types
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const wanted = (e: ApiEvent): boolean => !types || types.some((t) => t.toLowerCase() === e.type.toLowerCase());
    const query = selector.length > 0 ? { fieldSelector: selector.join(',') } : {};

    const client = await clientOf(cmd);
    const list = await client.get<ApiList<ApiEvent>>(eventsPath(namespace), query);
    const columns = eventColumns({ allNamespaces: namespace === undefined });
    const printer = new TablePrinter(
      columns.map((c) => c.header),
      (t) => io.out(t),
    );
    const items = list.items.filter(wanted);
    if (items.length === 0 && !flags.watch) {
      io.err(namespace === undefined ? 'No events found.\n' : `No events found in ${namespace} namespace.\n`);
      return;
    }
    printer.print(tableOf(columns, items, Date.now()).rows);
    if (!flags.watch) return;
    await client.watch<ApiEvent>(
      eventsPath(namespace),
      { ...query, resourceVersion: list.metadata.resourceVersion },
      (e) => {
        if (wanted(e.object)) printer.print(tableOf(columns, [e.object], Date.now()).rows);
      },
      io.interrupted,
    );
  });
}
