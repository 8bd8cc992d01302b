// One container of the memory runtime: its record, and how it reads as an
// ObservedContainer (decoded from labels the way the Docker runtime decodes
// them) and as exec output (caps, truncation).
import type { PassThrough } from 'node:stream';
import { decodeLabels } from '../docker/observe.js';
import type { ContainerUsage, ExecRequest, ExecResult, ObservedContainer, ObservedPort } from '../types.js';
import type { EffectiveTemplate } from '../../spec/policy.js';
import type { ExecAnswer } from './builtin-exec.js';
import type { MemoryFiles } from './files.js';

export interface MemoryContainer {
  id: string;
  name: string;
  labels: Record<string, string>;
  template: EffectiveTemplate;
  state: 'created' | 'running' | 'exited';
  engineCreatedAt: number;
  startedAt?: number;
  finishedAt?: number;
  exitCode?: number;
  oomKilled?: boolean;
  /** Bumped on every start, so a timer of an earlier run does not end a later one. */
  run: number;
  cancelExit?: () => void;
  usage?: ContainerUsage;
  log: string;
  followers: Set<PassThrough>;
  files: MemoryFiles;
}

/** The container as Docker reports it; withStartedAt false leaves out what only an inspect tells of a running one (as Docker's list). */
export function observedOf(c: MemoryContainer, withStartedAt: boolean): ObservedContainer | undefined {
  const id = decodeLabels(c.labels);
  if (!id) return undefined;
  const { createdAtLabel, ...identity } = id;
  const running = c.state === 'running';
  const ports: ObservedPort[] = c.template.ports.map((p) => {
    const port: ObservedPort = { containerPort: p.containerPort, protocol: p.protocol };
    if (running && p.hostPort !== undefined) Object.assign(port, { hostIP: p.hostIP, hostPort: p.hostPort });
    return port;
  });
  const out: ObservedContainer = {
    id: c.id,
    name: c.name,
    labels: { ...c.labels },
    ...identity,
    createdAt: createdAtLabel ?? c.engineCreatedAt,
    state: c.state,
    hostPorts: [...new Set(c.template.ports.flatMap((p) => (p.hostPort !== undefined ? [p.hostPort] : [])))].sort((a, b) => a - b),
    ports,
  };
  if (c.startedAt !== undefined && (withStartedAt || !running)) out.startedAt = c.startedAt;
  if (c.state === 'exited') {
    out.exitCode = c.exitCode ?? 0;
    out.oomKilled = c.oomKilled ?? false;
    if (c.finishedAt !== undefined) out.finishedAt = c.finishedAt;
  }
  return out;
}

export function tailLines(text: string, tail: number | undefined): string {
  if (tail === undefined) return text;
  if (tail <= 0) return '';
  const lines = text.split(/(?<=\n)/);
  return lines.slice(-tail).join('');
}

function cap(text: string, capBytes: number | undefined): { text: string; truncated: boolean } {
  if (capBytes === undefined) return { text, truncated: false };
  const bytes = Buffer.from(text);
  if (bytes.length <= capBytes) return { text, truncated: false };
  return { text: bytes.subarray(0, capBytes).toString('utf8'), truncated: true };
}

export function execResult(a: ExecAnswer, timedOut: boolean, durationMs: number, req: ExecRequest): ExecResult {
  const stdout = cap(a.stdout ?? '', req.outputCapBytes);
  const stderr = cap(a.stderr ?? '', req.outputCapBytes);
  const r: ExecResult = { exitCode: a.exitCode, stdout: stdout.text, stderr: stderr.text, durationMs, timedOut, truncated: stdout.truncated || stderr.truncated };
  if (req.binaryStdout) r.stdoutBytes = Buffer.from(stdout.text);
  return r;
}
