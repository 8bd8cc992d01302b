// The shapes the page reads from the API (a subset of what berth serves).
export interface Meta {
  name: string;
  namespace: string;
  creationTimestamp?: string;
  resourceVersion?: string;
  uid?: string;
}
export interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}
export interface Instance {
  metadata: Meta;
  status?: {
    phase?: string;
    restartCount?: number;
    configHash?: string;
    startedAt?: string;
    conditions?: Condition[];
    usage?: { cpu?: string; memory?: string; pids?: number };
    lastDrift?: { fields: string[]; at: string };
  };
}
export interface Pool {
  metadata: Meta;
  spec: { minReady?: number; maxSize?: number };
  status?: {
    replicas?: number;
    ready?: number;
    claimed?: number;
    terminating?: number;
    starting?: number;
    claimWait?: { p50Ms?: number; p99Ms?: number; count?: number };
    conditions?: Condition[];
  };
}
export interface Claim {
  metadata: Meta;
  spec: { poolRef: { name: string }; ttlSeconds?: number };
  status?: { phase?: string; instance?: string; boundAt?: string; expiresAt?: string; waitDurationMs?: number };
}
export interface ApiEvent {
  metadata: { name: string; namespace: string; resourceVersion: string };
  involvedObject: { kind: string; namespace: string; name: string };
  type: string;
  reason: string;
  message: string;
  count: number;
  lastTimestamp: string;
}
export interface Overview {
  time: string;
  ready: boolean;
  role: 'leader' | 'follower' | 'standalone';
  engine: { reachable: boolean; message?: string };
  queueDepth: number;
  claimWait: Array<{ pool: string; buckets: Array<{ le: number | '+Inf'; count: number }>; count: number; sumSeconds: number }>;
}

export const keyOf = (m: Meta): string => `${m.namespace}/${m.name}`;
export const condition = (o: { status?: { conditions?: Condition[] } }, type: string): Condition | undefined => o.status?.conditions?.find((c) => c.type === type);
