// What a hostile or careless client can send, and what a web page can make a
// browser send: every one is a 4xx with a message that says where, and the
// server goes on serving.
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './testing/harness.js';

let h: Harness;
afterEach(() => h?.stop());

const NS = '/apis/berth.dev/v1alpha1/namespaces/default';
const CLAIM = { apiVersion: 'berth.dev/v1alpha1', kind: 'InstanceClaim', metadata: { name: 'c1' }, spec: { poolRef: { name: 'p' } } };

/** A raw request: node's http lets a test set Host and Origin as a browser or an attacker would. */
function raw(method: string, path: string, body: string | Buffer | undefined, headers: Record<string, string>): Promise<{ status: number; json: any; text: string }> {
  const url = new URL(h.base + path);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, path: url.pathname + url.search, method, headers: { ...(body === undefined ? {} : { 'Content-Length': String(Buffer.byteLength(body)) }), ...headers } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => {
        let json: any;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, json, text });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('bodies are parsed with the spec files\' limits', () => {
  it('bodies over the limit are answered 413 while the client is still sending them, and the server goes on answering', async () => {
    h = await startHarness();
    // 8 MiB: far more than the socket buffers hold, so the client is mid-write when the 413 goes out.
    const big = Buffer.alloc(8 * 1024 * 1024, 'a');
    for (let i = 0; i < 20; i++) {
      const r = await raw('POST', `${NS}/instances`, big, { 'Content-Type': i % 2 ? 'application/json' : 'application/yaml' });
      expect([r.status, r.json.reason]).toEqual([413, 'RequestEntityTooLarge']);
    }
    expect((await raw('GET', '/healthz', undefined, {})).status).toBe(200);
  });

  it('20,000 nested [ as YAML or JSON: 400 naming the depth, twice in a row, and the server still answers', async () => {
    h = await startHarness();
    const deep = '['.repeat(20_000);
    for (let i = 0; i < 2; i++) {
      const yaml = await raw('POST', `${NS}/instances`, deep, { 'Content-Type': 'application/yaml' });
      expect(yaml.status).toBe(400);
      expect(yaml.json.message).toMatch(/request body:1: structure nested too deeply \(more than 100 levels\)/);
    }
    const json = await raw('POST', `${NS}/instances`, '['.repeat(5000) + ']'.repeat(5000), { 'Content-Type': 'application/json' });
    expect(json.status).toBe(400);
    expect(json.json.message).toMatch(/nested too deeply at \[0\]/);
    expect((await raw('GET', '/healthz', undefined, {})).status).toBe(200);
  });

  it('alias bombs, duplicate keys, several documents and invalid UTF-8 are 400 with the line', async () => {
    h = await startHarness();
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]', ...Array.from({ length: 8 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}]`)].join('\n');
    const y = { 'Content-Type': 'application/yaml' };
    expect((await raw('POST', `${NS}/instances`, bomb, y)).json.message).toMatch(/too many alias expansions/);
    expect((await raw('POST', `${NS}/instances`, 'kind: Instance\nkind: Instance\n', y)).json.message).toMatch(/request body:2: .*[Mm]ap keys must be unique/);
    const dupJson = await raw('POST', `${NS}/instances`, '{"kind":"Instance","metadata":{"name":"a",\n"name":"b"}}', { 'Content-Type': 'application/json' });
    expect([dupJson.status, dupJson.json.message]).toEqual([400, 'request body:2: duplicate key "name" in metadata (JSON.parse would keep the last one silently)']);
    expect(h.deps.store.list()).toEqual([]);
    expect((await raw('POST', `${NS}/instances`, 'a: 1\n---\nb: 2\n', y)).json.message).toMatch(/holds 2 YAML documents; send one \(the second starts on line 3\)/);
    const bad = await raw('POST', `${NS}/instances`, Buffer.concat([Buffer.from('kind: Instance\nmetadata:\n  name: "a'), Buffer.from([0xc3, 0x28]), Buffer.from('"\n')]), y);
    expect(bad.status).toBe(400);
    expect(bad.json.message).toBe('request body line 3, column 11: not valid UTF-8 (byte 0xc3)');
  });

  it('only JSON and YAML content types: text/plain, forms, none and others are 415 and nothing is created', async () => {
    h = await startHarness();
    const body = JSON.stringify({ apiVersion: 'berth.dev/v1alpha1', kind: 'Instance', metadata: { name: 'web' }, spec: { image: 'x' } });
    for (const type of ['text/plain', 'text/plain;charset=UTF-8', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/octet-stream', '']) {
      const r = await raw('POST', `${NS}/instances`, body, type ? { 'Content-Type': type } : {});
      expect(r.status, type).toBe(415);
      expect(r.json.reason).toBe('UnsupportedMediaType');
    }
    expect(h.deps.store.list()).toEqual([]);
    expect((await raw('POST', `${NS}/instances`, body, { 'Content-Type': 'application/json; charset=utf-8' })).status).toBe(201);
    expect((await raw('POST', `${NS}/instances/web/exec`, '{"command":["true"]}', { 'Content-Type': 'text/plain' })).status).toBe(415);
  });
});

describe('DNS rebinding and cross-site requests', () => {
  it('refuses a Host that is not the listen address, and allows localhost names', async () => {
    h = await startHarness();
    const port = new URL(h.base).port;
    for (const host of [`evil.example:${port}`, `127.0.0.1:${Number(port) + 1}`, `127.0.0.1`, `attacker.127.0.0.1.nip.io:${port}`]) {
      const r = await raw('GET', `${NS}/instances`, undefined, { Host: host });
      expect(r.status, host).toBe(403);
      expect(r.json.message).toMatch(/is not this API's address: use 127\.0\.0\.1:\d+/);
    }
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `app.localhost:${port}`]) {
      expect((await raw('GET', `${NS}/instances`, undefined, { Host: host })).status, host).toBe(200);
    }
    // Health answers whatever the Host (probes).
    expect((await raw('GET', '/healthz', undefined, { Host: 'evil.example' })).status).toBe(200);
  });

  it('refuses cross-origin writes (Origin, Sec-Fetch-Site) and allows same-origin ones and programs without an Origin', async () => {
    h = await startHarness();
    const port = new URL(h.base).port;
    const body = JSON.stringify({ apiVersion: 'berth.dev/v1alpha1', kind: 'Instance', metadata: { name: 'web' }, spec: { image: 'x' } });
    const json = { 'Content-Type': 'application/json' };
    for (const extra of <Record<string, string>[]>[{ Origin: 'http://evil.example' }, { Origin: 'null' }, { Origin: `http://127.0.0.1:${Number(port) + 1}` }, { 'Sec-Fetch-Site': 'cross-site' }]) {
      const r = await raw('POST', `${NS}/instances`, body, { ...json, ...extra });
      expect(r.status, JSON.stringify(extra)).toBe(403);
      expect(r.json.message).toMatch(/cross-(origin|site) POST refused/);
    }
    expect((await raw('DELETE', `${NS}/instances/web`, undefined, { Origin: 'http://evil.example' })).status).toBe(403);
    expect(h.deps.store.list()).toEqual([]);
    expect((await raw('POST', `${NS}/instances`, body, { ...json, Origin: `http://127.0.0.1:${port}`, 'Sec-Fetch-Site': 'same-origin' })).status).toBe(201);
    expect((await raw('PUT', `${NS}/instances/web`, body, json)).status).toBe(200);
  });
});

describe('requests before the sources are loaded, and bad parameters', () => {
  it('answers resource reads with 503 and Retry-After until every source has loaded', async () => {
    const loaded = { value: false };
    h = await startHarness({ isLoaded: () => loaded.value });
    const before = await raw('GET', `${NS}/instances/web`, undefined, {});
    expect(before.status).toBe(503);
    expect(before.json.message).toMatch(/still loading its sources/);
    expect((await raw('GET', '/healthz', undefined, {})).status).toBe(200);
    loaded.value = true;
    expect((await raw('GET', `${NS}/instances/web`, undefined, {})).status).toBe(404);
  });

  it('/readyz is 503 naming a degraded source', async () => {
    h = await startHarness({ degradedSources: () => ['files:/specs: /specs: cannot read: no such file or directory'] });
    const r = await raw('GET', '/readyz', undefined, {});
    expect(r.status).toBe(503);
    expect(r.json.message).toBe('degraded: source files:/specs: /specs: cannot read: no such file or directory');
  });

  it('?wait=bogus is 400 and creates no claim', async () => {
    h = await startHarness();
    const r = await raw('POST', `${NS}/instanceclaims?wait=bogus`, JSON.stringify(CLAIM), { 'Content-Type': 'application/json' });
    expect(r.status).toBe(400);
    expect(r.json.message).toMatch(/^wait: /);
    expect(h.deps.store.list()).toEqual([]);
  });
});

describe('a claim is applied once', () => {
  it('the same spec again is accepted (apply is idempotent); a changed spec is 422 and nothing changes', async () => {
    h = await startHarness();
    const j = { 'Content-Type': 'application/json' };
    expect((await raw('POST', `${NS}/instanceclaims`, JSON.stringify(CLAIM), j)).status).toBe(201);
    expect((await raw('POST', `${NS}/instanceclaims`, JSON.stringify(CLAIM), j)).status).toBe(200);
    for (const spec of [{ poolRef: { name: 'other' } }, { poolRef: { name: 'p' }, ttlSeconds: 60 }]) {
      const r = await raw('PUT', `${NS}/instanceclaims/c1`, JSON.stringify({ ...CLAIM, spec }), j);
      expect([r.status, r.json.message, r.json.details?.causes?.[0]?.field]).toEqual([422, 'InstanceClaim "c1" is invalid: spec: an InstanceClaim spec is immutable: delete the claim and make a new one', 'spec']);
    }
    const stored = await raw('GET', `${NS}/instanceclaims/c1`, undefined, {});
    expect([stored.json.spec, stored.json.metadata.generation]).toEqual([{ poolRef: { name: 'p' } }, 1]);
  });
});
