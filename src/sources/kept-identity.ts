// What the file source keeps of each resource in the state directory, so that
// a controller restart does not make it a new object: the apiserver keeps
// uid, creationTimestamp and generation for a custom resource, and a watcher
// (a GitOps tool, `berth get -w`, a script comparing uids) must not see a
// restart as a delete and a re-create.
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { Resource } from '../spec/schema.js';
import type { KeptIdentity } from '../state/restart-memory-store.js';

type Metadata = Resource['metadata'];

export type { KeptIdentity };

export function specDigest(spec: unknown): string {
  return createHash('sha256').update(canonicalize(spec) ?? '').digest('hex').slice(0, 32);
}

/**
 * The metadata a resource read from a file is stored with. A file's own uid
 * and generation are ignored, as an apiserver ignores them on create (a copy
 * of `get -o yaml` output must not share another object's uid); what was
 * kept before a restart is taken instead. A creationTimestamp written in the
 * file wins, as before.
 */
export function metadataWithKept(metadata: Metadata, kept: KeptIdentity | undefined, digest: () => string): Metadata {
  const { uid: _uid, generation: _generation, ...own } = metadata;
  const createdAt = own.creationTimestamp ?? kept?.createdAt;
  const generation = kept?.generation !== undefined && kept.specDigest !== undefined ? (kept.specDigest === digest() ? kept.generation : kept.generation + 1) : undefined;
  return {
    ...own,
    ...(createdAt !== undefined ? { creationTimestamp: createdAt } : {}),
    ...(kept?.uid !== undefined ? { uid: kept.uid } : {}),
    ...(generation !== undefined ? { generation } : {}),
  };
}

export function sameIdentity(a: KeptIdentity | undefined, b: KeptIdentity): boolean {
  return a !== undefined && a.createdAt === b.createdAt && a.uid === b.uid && a.generation === b.generation && a.specDigest === b.specDigest;
}
