// Pure mapping from a CreateRequest (effective template + berth's labels) to
// the engine's container create body. No defaults are invented here: they were
// applied by effectiveTemplate(); this only translates.
import type Dockerode from 'dockerode';
import type { CreateRequest } from '../types.js';
import type { EffectiveTemplate } from '../../spec/policy.js';

/** Labels under this prefix are berth's record of ownership; a template cannot set them. */
export const RESERVED_LABEL_PREFIX = 'berth.dev/';

/** template.labels first, then the request's (berth's) labels, which win; reserved keys of the template are dropped. */
export function containerLabels(req: CreateRequest): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.template.labels)) {
    if (!k.startsWith(RESERVED_LABEL_PREFIX)) out[k] = v;
  }
  return { ...out, ...req.labels };
}

/** "8080/tcp", the engine's key for a container port. */
export const portKey = (containerPort: number, protocol: 'TCP' | 'UDP'): string => `${containerPort}/${protocol.toLowerCase()}`;

function portOptions(t: EffectiveTemplate): { exposed: Record<string, object>; bindings: Dockerode.PortMap } {
  const exposed: Record<string, object> = {};
  const bindings: Dockerode.PortMap = {};
  for (const p of t.ports) {
    const key = portKey(p.containerPort, p.protocol);
    exposed[key] = {};
    // An empty HostPort asks the engine for an ephemeral port on that address.
    (bindings[key] ??= []).push({ HostIp: p.hostIP, HostPort: p.hostPort === undefined ? '' : String(p.hostPort) });
  }
  return { exposed, bindings };
}

function mountOptions(t: EffectiveTemplate): Dockerode.MountSettings[] {
  return t.mounts.map((m) => ({
    Type: m.type,
    // tmpfs takes no source; the engine refuses a non-empty one.
    Source: m.type === 'tmpfs' ? '' : (m.source ?? ''),
    Target: m.target,
    ReadOnly: m.readOnly,
  }));
}

/**
 * The create body for the engine. Command and args follow Kubernetes:
 * `command` replaces the image's ENTRYPOINT (and then the image's CMD is not
 * used), `args` replaces its CMD.
 */
export function createOptions(req: CreateRequest): Dockerode.ContainerCreateOptions {
  const t = req.template;
  const { exposed, bindings } = portOptions(t);
  const opts: Dockerode.ContainerCreateOptions = {
    name: req.name,
    Image: t.image,
    Env: t.env.map((e) => `${e.name}=${e.value}`),
    Labels: containerLabels(req),
    ExposedPorts: exposed,
    StopTimeout: t.stopGracePeriodSeconds,
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
    Tty: false,
    OpenStdin: false,
    HostConfig: {
      NetworkMode: t.network,
      PortBindings: bindings,
      Mounts: mountOptions(t),
      NanoCpus: t.resources.nanoCpus,
      Memory: t.resources.memoryBytes,
      // Equal to Memory: no swap beyond the limit.
      MemorySwap: t.resources.memoryBytes,
      PidsLimit: t.resources.pids,
      CapDrop: [...t.security.capDrop],
      CapAdd: [...t.security.capAdd],
      SecurityOpt: t.security.noNewPrivileges ? ['no-new-privileges:true'] : [],
      ReadonlyRootfs: t.security.readOnlyRootFilesystem,
      Privileged: t.security.privileged,
      // berth restarts containers itself (restartPolicy, backoff, CrashLoopBackOff).
      RestartPolicy: { Name: 'no' },
      Init: false,
    },
  };
  if (t.command !== undefined) opts.Entrypoint = [...t.command];
  if (t.args !== undefined) opts.Cmd = [...t.args];
  if (t.workingDir !== undefined) opts.WorkingDir = t.workingDir;
  if (t.user !== undefined) opts.User = t.user;
  return opts;
}
