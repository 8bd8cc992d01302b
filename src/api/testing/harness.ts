// A real API server on a free loopback port, over a real store, API source
// (temp state dir) and event recorder. Used by the API and CLI tests.
import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { EventRecorder } from '../../controller/event-recorder.js';
import { ResourceStore } from '../../controller/resource-store.js';
import { ApiSource } from '../../sources/api-source.js';
import type { ApiDeps } from '../context.js';
import { createApiServer, type ApiServer } from '../server.js';

export interface Harness {
  base: string;
  api: ApiServer;
  deps: ApiDeps & { store: ResourceStore; recorder: EventRecorder; registry: Registry };
  ready: { value: boolean };
  stop(): Promise<void>;
}

export async function startHarness(overrides: Partial<ApiDeps> = {}): Promise<Harness> {
  const stateDir = await mkdtemp(join(tmpdir(), 'berth-api-'));
  const store = new ResourceStore();
  const ready = { value: true };
  const deps = {
    store,
    apiSource: new ApiSource(store, stateDir),
    recorder: new EventRecorder(100),
    registry: new Registry(),
    runtime: {
      exec: () => Promise.reject(new Error('no runtime in this test')),
      logs: () => Promise.reject(new Error('no runtime in this test')),
    },
    isReady: () => ready.value,
    ...overrides,
  } as Harness['deps'];
  const api = createApiServer(deps);
  await api.listen('127.0.0.1', 0);
  const { port } = api.server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    api,
    deps,
    ready,
    stop: async () => {
      await api.close();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}

export interface WatchClient {
  /** The next event (waits up to 2 s). */
  next(): Promise<{ type: string; object: any }>;
  /** Events received so far and not yet taken. */
  pending(): { type: string; object: any }[];
  close(): void;
  statusCode: number;
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
}

/** Opens a watch (or any NDJSON stream) and hands out its lines one by one. */
export function openWatch(url: string, headers: Record<string, string> = {}): Promise<WatchClient> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers }, (res) => {
      const queue: { type: string; object: any }[] = [];
      const waiters: ((e: { type: string; object: any }) => void)[] = [];
      let buf = '';
      res.on('data', (c: Buffer) => {
        buf += c.toString('utf8');
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (!line.trim()) continue;
          const e = JSON.parse(line) as { type: string; object: any };
          const w = waiters.shift();
          if (w) w(e);
          else queue.push(e);
        }
      });
      res.on('error', () => undefined);
      const ended = new Promise<void>((done) => res.on('end', () => done()));
      resolve({
        ended,
        statusCode: res.statusCode ?? 0,
        next: () => {
          const e = queue.shift();
          if (e) return Promise.resolve(e);
          return new Promise((res2, rej2) => {
            const t = setTimeout(() => rej2(new Error('no watch event within 2s')), 2000);
            waiters.push((ev) => {
              clearTimeout(t);
              res2(ev);
            });
          });
        },
        pending: () => queue.splice(0),
        close: () => req.destroy(),
      });
    });
    req.on('error', reject);
  });
}
