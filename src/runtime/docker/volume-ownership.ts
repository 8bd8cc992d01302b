// Named volumes are data: a spec may mount one only if berth created it for
// that same resource (Instance or Pool), so one tenant's spec cannot reach
// another tenant's (or the host's) volume by naming it. A missing volume is
// created here with the owner's labels; an existing one must carry them,
// unless the controller runs with --allow-foreign-volumes.
import type Dockerode from 'dockerode';
import { RuntimeError, isRuntimeError } from '../errors.js';
import { LABEL, type CreateRequest } from '../types.js';
import { dockerCall, type DockerTimeouts } from './call.js';

const OWNER_LABELS = [LABEL.managedBy, LABEL.kind, LABEL.namespace, LABEL.name] as const;

export async function ensureOwnedVolumes(docker: Dockerode, req: CreateRequest, timeouts: DockerTimeouts, signal: AbortSignal | undefined): Promise<void> {
  const owner = Object.fromEntries(OWNER_LABELS.map((l) => [l, req.labels[l] ?? '']));
  const base = req.labels[LABEL.kind] === 'InstancePool' ? 'spec.template.mounts' : 'spec.mounts';
  for (const [i, m] of req.template.mounts.entries()) {
    if (m.type !== 'volume' || !m.source) continue;
    const labels = await inspectVolume(docker, m.source, timeouts, signal);
    if (labels === undefined) {
      await dockerCall('volume create', timeouts.create, signal, (s) => docker.createVolume({ Name: m.source, Labels: owner, abortSignal: s } as Dockerode.VolumeCreateOptions));
      // Created concurrently by someone else (the engine returns the existing volume): look again.
      const after = await inspectVolume(docker, m.source, timeouts, signal);
      if (after && ownedBy(after, owner)) continue;
      throw foreign(base, i, m.source, after ?? {}, owner);
    }
    if (!ownedBy(labels, owner)) throw foreign(base, i, m.source, labels, owner);
  }
}

async function inspectVolume(docker: Dockerode, name: string, timeouts: DockerTimeouts, signal: AbortSignal | undefined): Promise<Record<string, string> | undefined> {
  try {
    const info = await dockerCall('volume inspect', timeouts.inspect, signal, (s) => docker.getVolume(name).inspect({ abortSignal: s } as object));
    return (info.Labels as Record<string, string> | null) ?? {};
  } catch (e) {
    if (isRuntimeError(e, 'NotFound')) return undefined;
    throw e;
  }
}

const ownedBy = (labels: Record<string, string>, owner: Record<string, string>): boolean => OWNER_LABELS.every((l) => labels[l] === owner[l]);

function foreign(base: string, i: number, name: string, labels: Record<string, string>, owner: Record<string, string>): RuntimeError {
  const holder = labels[LABEL.managedBy]
    ? `it belongs to ${labels[LABEL.kind] ?? '?'} ${labels[LABEL.namespace] ?? '?'}/${labels[LABEL.name] ?? '?'} of controller ${labels[LABEL.managedBy]}`
    : 'berth did not create it';
  return new RuntimeError(
    'Invalid',
    `${base}[${i}].source: volume ${JSON.stringify(name)} exists and ${holder}, not for ${owner[LABEL.kind]} ${owner[LABEL.namespace]}/${owner[LABEL.name]}; ` +
      'mounting it is refused (use another name, or start the controller with --allow-foreign-volumes)',
  );
}
