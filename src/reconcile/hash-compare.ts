// Does a container (or a finished run) carry the desired config? Compared in
// the hash format the container was labelled with, so a new hash format
// relabels nothing and recreates nothing.
import { configHash, driftedFields, knownHashVersion, type ConfigHash } from '../spec/hash.js';
import type { ObservedContainer } from '../runtime/types.js';
import type { DesiredInstance } from './types.js';

/** What a hash comparison needs of a desired Instance or pool. */
export type HashedDesired = Pick<DesiredInstance, 'hash' | 'hashesByVersion' | 'template'>;

export type HashComparison =
  | { matches: true }
  | { matches: false; cause: string; driftedFields?: string[] };

/** One answer for every match: planning compares the kept container of every Instance on every look. */
const MATCHES: HashComparison = Object.freeze({ matches: true });

/** The desired hash in `version`'s format, or undefined when that format is unknown. */
export function desiredHashIn(desired: HashedDesired, version: string): ConfigHash | undefined {
  if (version === desired.hash.version) return desired.hash;
  const given = desired.hashesByVersion?.[version];
  if (given) return given;
  if (!knownHashVersion(version)) return undefined;
  try {
    return configHash(desired.template, version);
  } catch {
    return undefined;
  }
}

/** Compares a container's labels with the desired config, in the container's own hash format. */
export function compareContainerHash(desired: HashedDesired, c: ObservedContainer): HashComparison {
  if (c.configHash === undefined) return { matches: false, cause: 'config hash label missing' };
  const version = c.hashVersion ?? desired.hash.version;
  const expected = desiredHashIn(desired, version);
  if (!expected) return { matches: false, cause: `config hash of unknown version ${JSON.stringify(version)}` };
  if (expected.hash === c.configHash) return MATCHES;
  const fields = driftedFields(expected.fields, c.configFields);
  if (fields === undefined || fields.length === 0) return { matches: false, cause: 'config hash changed' };
  return { matches: false, cause: `config hash changed: ${fields.join(', ')}`, driftedFields: fields };
}

/** Whether a recorded hash (of a finished run) is the desired config. */
export function hashIsDesired(desired: HashedDesired, hash: string, version: string | undefined): boolean {
  const expected = desiredHashIn(desired, version ?? desired.hash.version);
  return expected !== undefined && expected.hash === hash;
}
