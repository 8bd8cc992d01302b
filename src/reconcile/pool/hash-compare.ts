// Does a member carry the pool's desired config? As for an Instance
// (../hash-compare.ts, which is typed for DesiredInstance): compared in the
// hash format the container was labelled with, naming the drifted fields from
// the per-field digests kept beside the hash.
import { configHash, driftedFields, knownHashVersion, type ConfigHash } from '../../spec/hash.js';
import type { ObservedContainer } from '../../runtime/types.js';
import type { HashComparison } from '../hash-compare.js';
import type { DesiredPool } from './types.js';

/** The desired hash in `version`'s format, or undefined when that format is unknown. */
export function poolHashIn(desired: DesiredPool, version: string): ConfigHash | undefined {
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

/** Compares a member's labels with the pool's desired config, in the member's own hash format. */
export function compareMemberHash(desired: DesiredPool, c: ObservedContainer): HashComparison {
  if (c.configHash === undefined) return { matches: false, cause: 'config hash label missing' };
  const version = c.hashVersion ?? desired.hash.version;
  const expected = poolHashIn(desired, version);
  if (!expected) return { matches: false, cause: `config hash of unknown version ${JSON.stringify(version)}` };
  if (expected.hash === c.configHash) return { matches: true };
  const fields = driftedFields(expected.fields, c.configFields);
  if (fields === undefined || fields.length === 0) return { matches: false, cause: 'config hash changed' };
  return { matches: false, cause: `config hash changed: ${fields.join(', ')}`, driftedFields: fields };
}
