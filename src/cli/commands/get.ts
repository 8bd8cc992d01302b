// `berth get TYPE [NAME...] [-n NS | -A] [-o table|wide|yaml|json|name] [-w]`.
import type { Command } from 'commander';
import type { Kind } from '../../spec/schema.js';
import { ApiStatusError } from '../client.js';
import { columnsFor, tableOf } from '../columns.js';
import { addClientOptions, addNamespaceOptions, clientOf, ioOf, namespaceOf, setExitCode } from '../context.js';
import { CliError } from '../errors.js';
import { collectionPath, objectPath, parseTarget } from '../kinds.js';
import type { ApiList, ApiObject } from '../objects.js';
import { formatObject, formatObjects, isTableFormat, parseOutputFormat, type OutputFormat } from '../output.js';
import { TablePrinter } from '../table.js';

interface GetFlags {
  output?: string;
  watch?: boolean;
  watchOnly?: boolean;
}

export function register(program: Command): void {
  const cmd = program
    .command('get')
    .description('list resources, or show some by name')
    .argument('<type>', 'instances (inst), instancepools (pool), instanceclaims (claim), or TYPE/NAME')
    .argument('[names...]', 'names (all when omitted)')
    .option('-o, --output <format>', 'table, wide, yaml, json or name', 'table')
    .option('-w, --watch', 'after listing, print changes as they happen')
    .option('--watch-only', 'print changes only, without the initial list');
  addNamespaceOptions(cmd, { allNamespaces: true });
  addClientOptions(cmd).action(async (type: string, names: string[], flags: GetFlags, cmd: Command) => {
    // Several types at once, as kubectl takes them: `berth get instances,instancepools`.
    const types = type.split(',').map((t) => t.trim()).filter(Boolean);
    if (types.length > 1) {
      if (type.includes('/') || names.length > 0) throw new CliError('names cannot be given with several types; use TYPE/NAME for one type');
      if (flags.watch || flags.watchOnly) throw new CliError('watch is only supported for one type');
      for (const [i, t] of types.entries()) {
        if (i > 0 && isTableFormat(parseOutputFormat(flags.output))) ioOf(cmd).out('\n');
        await getOne(t, [], flags, cmd);
      }
      return;
    }
    await getOne(type, names, flags, cmd);
  });
}

async function getOne(type: string, names: string[], flags: GetFlags, cmd: Command): Promise<void> {
  {
    const io = ioOf(cmd);
    const format = parseOutputFormat(flags.output);
    const target = parseTarget(type);
    const wanted = target.name !== undefined ? [target.name, ...names] : names;
    const namespace = namespaceOf(cmd);
    const watching = Boolean(flags.watch || flags.watchOnly);
    if (wanted.length > 0 && namespace === undefined) throw new CliError('a resource cannot be retrieved by name across all namespaces; use -n NAMESPACE');
    if (watching && wanted.length > 1) throw new CliError('watch is only supported for one resource or a whole list');
    const client = await clientOf(cmd);
    const kind = target.kind;
    const allNamespaces = namespace === undefined;

    let objects: ApiObject[] = [];
    let resourceVersion: string | undefined;
    if (wanted.length === 0) {
      const list = await client.get<ApiList>(collectionPath(kind, namespace));
      objects = list.items;
      resourceVersion = list.metadata.resourceVersion;
    } else {
      for (const name of wanted) {
        try {
          const o = await client.get<ApiObject>(objectPath(kind, namespace ?? 'default', name));
          objects.push(o);
          resourceVersion = o.metadata.resourceVersion;
        } catch (e) {
          if (!(e instanceof ApiStatusError)) throw e;
          setExitCode(cmd, 1);
          io.err(`Error from server (${e.reason}): ${e.message}\n`);
        }
      }
    }

    const now = Date.now();
    const printer = isTableFormat(format) ? new TablePrinter(columnsFor(kind, { wide: format === 'wide', allNamespaces }).map((c) => c.header), io.out) : undefined;
    if (!flags.watchOnly) {
      if (objects.length === 0 && wanted.length === 0) {
        if (format === 'json' || format === 'yaml') io.out(formatObjects([], format, kind, { now }));
        else io.err(allNamespaces ? 'No resources found\n' : `No resources found in ${namespace} namespace.\n`);
      } else if (printer) {
        printRows(printer, kind, objects, format, allNamespaces);
      } else if (objects.length > 0) {
        io.out(formatObjects(objects, format, kind, { now, single: wanted.length === 1, ...(allNamespaces ? { allNamespaces } : {}) }));
      }
    }
    if (!watching || (wanted.length > 0 && objects.length === 0)) return;

    const name = wanted[0];
    let printed = !flags.watchOnly && objects.length > 0;
    await client.watch<ApiObject>(
      collectionPath(kind, namespace),
      { resourceVersion, fieldSelector: name !== undefined ? `metadata.name=${name}` : undefined },
      (e) => {
        if (printer) printRows(printer, kind, [e.object], format, allNamespaces);
        else {
          if (format === 'yaml' && printed) io.out('---\n');
          io.out(formatObject(e.object, format as Exclude<OutputFormat, 'table' | 'wide'>, kind));
        }
        printed = true;
      },
      io.interrupted,
    );
  }
}

function printRows(printer: TablePrinter, kind: Kind, objects: ApiObject[], format: OutputFormat, allNamespaces: boolean): void {
  const { rows } = tableOf(columnsFor(kind, { wide: format === 'wide', allNamespaces }), objects, Date.now());
  printer.print(rows);
}
