import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Dockerode from 'dockerode';
import { afterEach, describe, expect, it } from 'vitest';
import { isRuntimeError } from '../errors.js';
import type { RuntimeEvent } from '../types.js';
import { EVENT_FILTERS, eventFilters, LineSplitter, parseEngineEvent, sinceArg, subscribeEvents } from './events.js';

// A die event as Docker 20.10 sends it.
const DIE = {
  status: 'die',
  id: 'c0ffee',
  from: 'berth-test/busybox:1',
  Type: 'container',
  Action: 'die',
  Actor: {
    ID: 'c0ffee',
    Attributes: { 'berth.dev/managed-by': 'ctl', 'berth.dev/name': 'web', exitCode: '137', image: 'berth-test/busybox:1', name: 'berth-default-web' },
  },
  scope: 'local',
  time: 1_700_000_000,
  timeNano: 1_700_000_000_123_456_789,
};

describe('eventFilters', () => {
  it('asks the engine for one controller\'s containers when given its id', () => {
    expect(eventFilters('ci-1')).toEqual({ type: ['container'], label: ['berth.dev/managed-by=ci-1'], event: EVENT_FILTERS.event });
    expect(eventFilters()).toEqual(EVENT_FILTERS);
  });
});

describe('LineSplitter', () => {
  it('joins lines and UTF-8 characters split across chunks, and skips blank lines', () => {
    const s = new LineSplitter();
    const text = Buffer.from('{"a":"é"}\n\n{"b":2}\n{"c"');
    expect(s.push(text.subarray(0, 7))).toEqual([]); // ends inside é
    expect(s.push(text.subarray(7, 12))).toEqual(['{"a":"é"}']);
    expect(s.push(text.subarray(12))).toEqual(['{"b":2}']);
    expect(s.push(':3}\r\n')).toEqual(['{"c":3}']);
    expect(s.push('{"d":4}')).toEqual([]);
    expect(s.flush()).toEqual(['{"d":4}']);
    expect(s.flush()).toEqual([]);
  });
});

describe('parseEngineEvent', () => {
  it('keeps the container labels, drops the attributes the engine adds, and takes ms from timeNano', () => {
    expect(parseEngineEvent(DIE)).toEqual({
      action: 'die',
      containerId: 'c0ffee',
      labels: { 'berth.dev/managed-by': 'ctl', 'berth.dev/name': 'web' },
      time: 1_700_000_000_123,
    });
  });

  it('normalises "health_status: healthy" to health_status', () => {
    expect(parseEngineEvent({ ...DIE, status: 'health_status: healthy', Action: 'health_status: healthy' })?.action).toBe('health_status');
  });

  it('ignores what is not a container event', () => {
    expect(parseEngineEvent({ ...DIE, Type: 'network' })).toBeUndefined();
    expect(parseEngineEvent({ Type: 'container' })).toBeUndefined();
    expect(parseEngineEvent(null)).toBeUndefined();
    expect(parseEngineEvent('die')).toBeUndefined();
  });

  it('falls back to the old fields (status, id, time in seconds)', () => {
    expect(parseEngineEvent({ status: 'start', id: 'abc', time: 10 })).toEqual({ action: 'start', containerId: 'abc', labels: {}, time: 10_000 });
  });
});

describe('sinceArg', () => {
  it('formats nanoseconds as the engine wants them', () => {
    expect(sinceArg(1_700_000_000_000_000_000)).toBe('1700000000.000000000');
    expect(sinceArg(1_500_000_000)).toBe('1.500000000');
  });
});

// A stand-in engine on a unix socket, speaking just /events: the real dockerode
// client talks to it. First connection: an event split mid-line, a garbage
// line, then the stream ends (as when the engine restarts). Later connections
// stay open.
describe('subscribeEvents against a stand-in engine', () => {
  let dir: string | undefined;
  let server: Server | undefined;
  const open: ServerResponse[] = [];

  afterEach(async () => {
    for (const r of open) r.destroy();
    open.length = 0;
    if (server) await new Promise<void>((resolve) => server!.close(() => resolve()));
    if (dir) rmSync(dir, { recursive: true, force: true });
    server = undefined;
    dir = undefined;
  });

  it('parses split lines, skips garbage, resubscribes after the stream ends with since and the same filters', async () => {
    dir = mkdtempSync(join(tmpdir(), 'berth-events-'));
    const socketPath = join(dir, 'engine.sock');
    const requests: URL[] = [];
    let closed = 0;
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const url = new URL(req.url ?? '/', 'http://engine');
      requests.push(url);
      res.writeHead(200, { 'Content-Type': 'application/json' });
      if (requests.length === 1) {
        const line = JSON.stringify(DIE) + '\n';
        res.write(line.slice(0, 40));
        setTimeout(() => {
          res.write(line.slice(40) + 'not json\n' + JSON.stringify({ ...DIE, Type: 'network' }) + '\n');
          setTimeout(() => res.end(), 20);
        }, 20);
      } else {
        open.push(res);
        res.on('close', () => closed++);
      }
    });
    await new Promise<void>((resolve) => server!.listen(socketPath, resolve));

    const events: RuntimeEvent[] = [];
    const errors: Error[] = [];
    const stop = new AbortController();
    subscribeEvents(new Dockerode({ socketPath }), (e) => events.push(e), stop.signal, (e) => errors.push(e), {
      connectTimeoutMs: 1_000,
      backoffInitialMs: 10,
    });
    await expect.poll(() => requests.length, { timeout: 3_000 }).toBe(2);
    stop.abort();

    expect(events).toEqual([parseEngineEvent(DIE)]);
    expect(errors).toHaveLength(1);
    expect(isRuntimeError(errors[0], 'Unavailable')).toBe(true);
    expect(requests[0]!.pathname).toBe('/events');
    expect(JSON.parse(requests[0]!.searchParams.get('filters')!)).toEqual(EVENT_FILTERS);
    expect(requests[0]!.searchParams.get('since')).toBeNull();
    // Resubscribed from (just before) the last event seen, so the gap is replayed.
    const since = Number(requests[1]!.searchParams.get('since'));
    expect(since).toBeGreaterThan(1_699_999_999);
    expect(since).toBeLessThanOrEqual(1_700_000_000.124);
    expect(JSON.parse(requests[1]!.searchParams.get('filters')!)).toEqual(EVENT_FILTERS);
    // Aborting ends the open stream and reports nothing more.
    await expect.poll(() => closed, { timeout: 2_000 }).toBe(1);
    expect(errors).toHaveLength(1);
  });
});
