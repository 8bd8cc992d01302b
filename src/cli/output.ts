// -o table|wide|yaml|json|name for resources.
import { stringify } from 'yaml';
import type { Kind } from '../spec/schema.js';
import { columnsFor, tableOf } from './columns.js';
import { CliError } from './errors.js';
import { objectName } from './kinds.js';
import type { ApiObject } from './objects.js';
import { renderTable } from './table.js';

export const OUTPUT_FORMATS = ['table', 'wide', 'yaml', 'json', 'name'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export function parseOutputFormat(text: string | undefined): OutputFormat {
  const f = (text ?? 'table').toLowerCase();
  if ((OUTPUT_FORMATS as readonly string[]).includes(f)) return f as OutputFormat;
  throw new CliError(`unknown output format ${JSON.stringify(text)} (use one of: ${OUTPUT_FORMATS.join(', ')})`);
}

export const isTableFormat = (f: OutputFormat): boolean => f === 'table' || f === 'wide';

export const yamlOf = (value: unknown): string => stringify(value, { lineWidth: 0, aliasDuplicateObjects: false });

/** One object as yaml/json/name (for watches, each event's object in turn). */
export function formatObject(o: ApiObject, format: Exclude<OutputFormat, 'table' | 'wide'>, kind: Kind): string {
  if (format === 'name') return `${objectName(kind, o.metadata.name)}\n`;
  if (format === 'json') return JSON.stringify(o, null, 2) + '\n';
  return yamlOf(o);
}

/** Objects as a complete answer: a table, or a List for yaml/json, or one name per line. */
export function formatObjects(items: readonly ApiObject[], format: OutputFormat, kind: Kind, opts: { allNamespaces?: boolean; now: number; single?: boolean }): string {
  if (isTableFormat(format)) {
    const { headers, rows } = tableOf(columnsFor(kind, { wide: format === 'wide', ...(opts.allNamespaces ? { allNamespaces: true } : {}) }), items, opts.now);
    return renderTable(headers, rows);
  }
  if (format === 'name') return items.map((o) => formatObject(o, 'name', kind)).join('');
  const only = items[0];
  if (opts.single && items.length === 1 && only) return formatObject(only, format as 'yaml' | 'json', kind);
  const list = { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items };
  return format === 'json' ? JSON.stringify(list, null, 2) + '\n' : yamlOf(list);
}
