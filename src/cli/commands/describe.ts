// `berth describe TYPE NAME`: spec summary, status, conditions and recent events.
import type { Command } from 'commander';
import type { Kind } from '../../spec/schema.js';
import { eventColumns, tableOf } from '../columns.js';
import { addClientOptions, addNamespaceOptions, clientOf, ioOf, namespaceOf } from '../context.js';
import { CliError } from '../errors.js';
import { ageOf } from '../age.js';
import { eventsPath, objectPath, parseTarget } from '../kinds.js';
import { conditionsOf, type ApiEvent, type ApiList, type ApiObject } from '../objects.js';
import { yamlOf } from '../output.js';
import { renderTable } from '../table.js';

export function register(program: Command): void {
  const cmd = program
    .command('describe')
    .description('show one resource in detail: spec, status, conditions and recent events')
    .argument('<type>', 'resource type, or TYPE/NAME')
    .argument('[name]', 'name');
  addNamespaceOptions(cmd);
  addClientOptions(cmd).action(async (type: string, nameArg: string | undefined, _flags: unknown, cmd: Command) => {
    const io = ioOf(cmd);
    const { kind, name } = parseTarget(type, nameArg);
    if (name === undefined) throw new CliError(`which one: berth describe ${type} NAME`);
    const namespace = namespaceOf(cmd) ?? 'default';
    const client = await clientOf(cmd);
    const object = await client.get<ApiObject>(objectPath(kind, namespace, name));
    const events = await client.get<ApiList<ApiEvent>>(eventsPath(namespace), { fieldSelector: `involvedObject.kind=${kind},involvedObject.name=${name}` });
    io.out(describe(kind, object, events.items, Date.now()));
  });
}

const indent = (text: string, by: string): string =>
  text
    .split('\n')
    .map((l) => (l === '' ? l : by + l))
    .join('\n');

function field(label: string, value: unknown): string {
  const shown = value === undefined || value === null || value === '' ? '<none>' : String(value);
  return `${`${label}:`.padEnd(14)}${shown}\n`;
}

function mapText(m: Record<string, string> | undefined): string {
  const entries = Object.entries(m ?? {});
  return entries.length === 0 ? '<none>' : entries.map(([k, v]) => `${k}=${v}`).join('\n' + ' '.repeat(14));
}

/** The spec without empty lists and maps (defaults that say nothing), for a readable summary. */
export function compact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(compact);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const c = compact(v);
    const empty = (Array.isArray(c) && c.length === 0) || (c !== null && typeof c === 'object' && !Array.isArray(c) && Object.keys(c).length === 0);
    if (!empty) out[k] = c;
  }
  return out;
}

/** The text of `describe` (exported for tests). */
export function describe(kind: Kind, o: ApiObject, events: readonly ApiEvent[], now: number): string {
  let out = '';
  out += field('Name', o.metadata.name);
  out += field('Namespace', o.metadata.namespace);
  out += field('Kind', `${kind} (${o.apiVersion})`);
  out += field('Labels', mapText(o.metadata.labels));
  out += field('Annotations', mapText(o.metadata.annotations));
  out += field('Created', o.metadata.creationTimestamp ? `${o.metadata.creationTimestamp} (${ageOf(o.metadata.creationTimestamp, now)} ago)` : undefined);
  out += field('Generation', o.metadata.generation);
  out += 'Spec:\n' + indent(yamlOf(compact(o.spec ?? {})), '  ');

  const { conditions: _c, ...status } = o.status ?? {};
  const statusKeys = Object.keys(status);
  out += statusKeys.length === 0 ? 'Status:       <none> (the controller has not reported yet)\n' : 'Status:\n' + indent(yamlOf(status), '  ');

  const conditions = conditionsOf(o);
  out += 'Conditions:\n';
  if (conditions.length === 0) out += '  <none>\n';
  else
    out += indent(
      renderTable(
        ['TYPE', 'STATUS', 'REASON', 'SINCE', 'MESSAGE'],
        conditions.map((c) => [c.type, c.status, c.reason || '<none>', ageOf(c.lastTransitionTime, now), c.message.replace(/\s*\n\s*/g, ' ')]),
      ),
      '  ',
    );

  out += 'Events:\n';
  if (events.length === 0) out += '  <none>\n';
  else {
    const cols = eventColumns().filter((c) => c.header !== 'OBJECT');
    const { headers, rows } = tableOf(cols, events.slice(-20), now);
    out += indent(renderTable(headers, rows), '  ');
  }
  return out;
}
