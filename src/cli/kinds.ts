// kubectl-like naming of kinds and objects, and the API paths they live at.
import { API_PREFIX } from '../api/routes.js';
import { KIND_NAMES, KINDS, resolveKind, type Kind } from '../spec/schema.js';
import { CliError } from './errors.js';

const KIND_HELP = KIND_NAMES.map((k) => `${KINDS[k].plural} (${[KINDS[k].singular, ...KINDS[k].shortNames].join(', ')})`).join(', ');

export function kindOf(word: string): Kind {
  const w = word.replace(/\.berth\.dev$/, '');
  // Plurals of the short names too, as kubectl users type them: pools, claims, insts.
  const kind = resolveKind(w) ?? (/s$/i.test(w) ? resolveKind(w.slice(0, -1)) : undefined);
  if (!kind) throw new CliError(`the server doesn't have a resource type "${word}" (known: ${KIND_HELP})`);
  return kind;
}

/** "instance/web" or "instance" "web" -> kind and name. */
export function parseTarget(first: string, second?: string): { kind: Kind; name?: string } {
  const slash = first.indexOf('/');
  if (slash >= 0) {
    if (second !== undefined) throw new CliError(`there is no need to give a name after a TYPE/NAME ("${first}")`);
    const name = first.slice(slash + 1);
    if (name === '') throw new CliError(`"${first}": missing the name after the "/"`);
    return { kind: kindOf(first.slice(0, slash)), name };
  }
  return { kind: kindOf(first), ...(second !== undefined ? { name: second } : {}) };
}

/** instance.berth.dev, as kubectl prints resource types. */
export const typeName = (kind: Kind): string => `${KINDS[kind].singular}.berth.dev`;
/** instance.berth.dev/web */
export const objectName = (kind: Kind, name: string): string => `${typeName(kind)}/${name}`;

const seg = encodeURIComponent;

export const collectionPath = (kind: Kind, namespace: string | undefined): string =>
  namespace === undefined ? `${API_PREFIX}/${KINDS[kind].plural}` : `${API_PREFIX}/namespaces/${seg(namespace)}/${KINDS[kind].plural}`;

export const objectPath = (kind: Kind, namespace: string, name: string, subresource?: 'status' | 'exec' | 'log' | 'archive'): string =>
  `${collectionPath(kind, namespace)}/${seg(name)}${subresource ? `/${subresource}` : ''}`;

export const eventsPath = (namespace: string | undefined): string =>
  namespace === undefined ? `${API_PREFIX}/events` : `${API_PREFIX}/namespaces/${seg(namespace)}/events`;

/** "web" or "instance/web" -> "web"; another type is an error. */
export function instanceName(arg: string): string {
  if (!arg.includes('/')) return arg;
  const t = parseTarget(arg);
  if (t.kind !== 'Instance' || t.name === undefined) throw new CliError(`"${arg}" is not an instance (use NAME or instance/NAME)`);
  return t.name;
}
