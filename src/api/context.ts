// What the API server is given, and what each request handler sees.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import type { EventRecorder } from '../controller/event-recorder.js';
import type { ResourceStore } from '../controller/resource-store.js';
import type { Runtime } from '../runtime/types.js';
import type { ApiSource } from '../sources/api-source.js';
import type { ResourceWriter } from '../sources/kubernetes/api-writer.js';
import type { ControllerPolicy } from '../spec/policy.js';
import type { ResolvedMember } from '../controller/claim-binder.js';

export interface ApiLogger {
  info(o: object, msg?: string): void;
  warn(o: object, msg?: string): void;
}

export interface ApiDeps {
  store: ResourceStore;
  apiSource: ApiSource;
  recorder: EventRecorder;
  /** Only exec and logs are used. */
  runtime: Pick<Runtime, 'exec' | 'logs'>;
  /** Files in and out of containers (berth cp); usually the same runtime. Without it the archive route answers 404. */
  archive?: Pick<Runtime, 'statPath' | 'getArchive' | 'putArchive'>;
  registry: Registry;
  /** /readyz answers 200 while this is true, else 503. */
  isReady(): boolean;
  /** Sources that could not be read whole (/readyz answers 503 naming them); none when unset. */
  degradedSources?(): string[];
  /**
   * Whether every source has done its first load. Until then resource, event,
   * exec and log requests get 503 with Retry-After, never a NotFound or an
   * empty list that is not true yet. Always loaded when unset.
   */
  isLoaded?(): boolean;
  /**
   * Why this replica must not answer resource requests (a follower under
   * leader election: its store is empty or stale and its writes would never
   * be acted on); undefined while it serves. Resource reads and writes then
   * get 503 with Retry-After, never an empty list.
   */
  notServing?(): string | undefined;
  /**
   * Where API writes go instead of apiSource (under --source kubernetes: the
   * apiserver, as real custom resources).
   */
  writer?: ResourceWriter;
  /** When set, every request except /healthz and /readyz needs `Authorization: Bearer <token>`. */
  token?: string;
  /** Bytes kept per exec output stream; default 1 MiB. */
  execCapBytes?: number;
  /** Cap on one copied archive (berth cp), in and out; default 64 MiB. */
  archiveLimitBytes?: number;
  /** Request body limit; default 1 MiB. */
  bodyLimitBytes?: number;
  /** What applied specs may ask for (privileged, host network, ...); DEFAULT_POLICY if unset. */
  policy?: ControllerPolicy;
  logger?: ApiLogger;
  /** leader or follower under leader election; standalone otherwise (the status page shows it). */
  role?: () => 'leader' | 'follower' | 'standalone';
  /** Where the built status page is (dist/ui); tried in order. */
  uiDirs?: readonly string[];
  /** Container of a pool member addressed as an instance (`<pool>-<member>`, a claim's status.instance), and the claim holding it. */
  resolveInstance?: (namespace: string, name: string) => ResolvedMember | undefined;
}

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  method: string;
  /** Aborted when the client goes away or the server closes: streams end, exec is cancelled. */
  signal: AbortSignal;
  /** A long-lived response has sent its headers: the request metric records the time to here. */
  markStreaming(): void;
}

export const isTrue = (v: string | null): boolean => v === 'true' || v === '1' || v === '';
