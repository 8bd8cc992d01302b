// The config hash: sha256 over canonical JSON of the effective template, with a
// per-field digest kept beside it so a drift can name the fields that changed.
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { EffectiveTemplate } from './policy.js';

/** Bump when the canonical form changes; containers of older versions are compared in their own format. */
export const HASH_VERSION = '1';

export interface ConfigHash {
  version: string;
  /** "v1-<hex>"; what goes on the berth.dev/config-hash label. */
  hash: string;
  /** Top-level template field -> short digest of its canonical value. */
  fields: Record<string, string>;
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

// Why a canonical form: two specs that mean the same container must hash alike
// whatever their key order, YAML style, or whether defaults were written out.
function canonicalTemplate(t: EffectiveTemplate): Record<string, unknown> {
  const env = [...t.env].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  // One container port may be published on several host ports: the full canonical text breaks ties.
  const ports = [...t.ports].sort((a, b) => a.containerPort - b.containerPort || compareText(canonicalize(a)!, canonicalize(b)!));
  const security = {
    ...t.security,
    capDrop: [...new Set(t.security.capDrop.map(normaliseCap))].sort(),
    capAdd: [...new Set(t.security.capAdd.map(normaliseCap))].sort(),
  };
  return {
    image: t.image,
    command: t.command ?? null,
    args: t.args ?? null,
    workingDir: t.workingDir ?? null,
    env,
    user: t.user ?? null,
    ports,
    network: t.network,
    mounts: t.mounts,
    resources: t.resources,
    security,
    healthCheck: t.healthCheck ?? null,
    labels: t.labels,
    stopGracePeriodSeconds: t.stopGracePeriodSeconds,
  };
}

const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const normaliseCap = (c: string): string => c.toUpperCase().replace(/^CAP_/, '');

// imagePullPolicy is deliberately outside the hash: changing when to pull does
// not change the container (a new pull of a moved tag is a separate decision).
const HASHERS: Record<string, (t: EffectiveTemplate) => ConfigHash> = {
  '1': (t) => {
    const canonical = canonicalTemplate(t);
    const fields: Record<string, string> = {};
    for (const [field, value] of Object.entries(canonical)) fields[field] = sha256(canonicalize(value) ?? 'null').slice(0, 8);
    return { version: '1', hash: `v1-${sha256(canonicalize(canonical)!)}`.slice(0, 3 + 32), fields };
  },
};

/** The hash of a template in the current format, or in an older one to compare with old containers. */
export function configHash(t: EffectiveTemplate, version: string = HASH_VERSION): ConfigHash {
  const hasher = HASHERS[version];
  if (!hasher) throw new Error(`unknown config hash version ${JSON.stringify(version)}`);
  return hasher(t);
}

export const knownHashVersion = (version: string | undefined): boolean => version !== undefined && version in HASHERS;

/** Compact label value for the per-field digests: "args=1a2b3c4d,env=...". */
export function encodeFieldDigests(fields: Record<string, string>): string {
  return Object.keys(fields)
    .sort()
    .map((k) => `${k}=${fields[k]}`)
    .join(',');
}

export function decodeFieldDigests(label: string | undefined): Record<string, string> | undefined {
  if (!label) return undefined;
  const out: Record<string, string> = {};
  for (const part of label.split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) out[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return out;
}

/** Field names whose digest differs; undefined when the old digests are unknown. */
export function driftedFields(desired: Record<string, string>, observed: Record<string, string> | undefined): string[] | undefined {
  if (!observed) return undefined;
  const names = new Set([...Object.keys(desired), ...Object.keys(observed)]);
  return [...names].filter((n) => desired[n] !== observed[n]).sort();
}
