import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { desiredInstance } from '../reconcile/desired.js';
import { configHash, decodeFieldDigests, driftedFields, encodeFieldDigests, HASH_VERSION, knownHashVersion, type ConfigHash } from './hash.js';
import { parseSpecText } from './load.js';
import { ALLOW_ALL_ISOLATION, DEFAULT_POLICY, effectiveTemplate } from './policy.js';
import { ContainerTemplateSchema, InstanceSchema } from './schema.js';

// ---------------------------------------------------------------------------
// Specs as a user writes them (before defaults), generated.

type Raw = Record<string, unknown>;

const text = fc.string({ maxLength: 12 });
const envName = fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,8}$/);
const labelKey = fc.constantFrom('app', 'team', 'tier', 'example.com/owner', 'version');
const cap = fc.constantFrom('CHOWN', 'SETUID', 'SETGID', 'NET_BIND_SERVICE', 'KILL', 'cap_chown');

const memory = fc.oneof(
  fc.integer({ min: 1, max: 4096 }).map((mi) => `${mi}Mi`),
  fc.integer({ min: 1, max: 8 }).map((gi) => `${gi}Gi`),
  fc.integer({ min: 1, max: 2 ** 40 }),
  fc.integer({ min: 1, max: 2 ** 40 }).map(String),
);
const cpus = fc.oneof(fc.constantFrom('0.5', '1', '1.5', '2', '250m', '1500m'), fc.integer({ min: 1, max: 16 }), fc.constantFrom(0.25, 1.5));

const port = fc.record(
  {
    containerPort: fc.integer({ min: 1, max: 65535 }),
    hostPort: fc.integer({ min: 1, max: 65535 }),
    protocol: fc.constantFrom('TCP', 'UDP'),
    hostIP: fc.constantFrom('127.0.0.1', '0.0.0.0', '::1'),
  },
  { requiredKeys: ['containerPort'] },
);

const mount = fc.oneof(
  fc.record({ type: fc.constant('tmpfs'), target: fc.constantFrom('/tmp', '/run', '/var/cache') }),
  fc.record({ type: fc.constant('volume'), source: fc.constantFrom('data', 'cache'), target: fc.constantFrom('/data', '/cache'), readOnly: fc.boolean() }, { requiredKeys: ['type', 'source', 'target'] }),
);

const timings = {
  initialDelaySeconds: fc.integer({ min: 0, max: 60 }),
  periodSeconds: fc.integer({ min: 1, max: 60 }),
  timeoutSeconds: fc.integer({ min: 1, max: 10 }),
  failureThreshold: fc.integer({ min: 1, max: 10 }),
  successThreshold: fc.integer({ min: 1, max: 3 }),
};
const healthCheck = fc.oneof(
  fc.record({ exec: fc.record({ command: fc.array(text, { minLength: 1, maxLength: 3 }) }), ...timings }, { requiredKeys: ['exec'] }),
  fc.record({ http: fc.record({ port: fc.integer({ min: 1, max: 65535 }), path: fc.constantFrom('/', '/healthz') }, { requiredKeys: ['port'] }), ...timings }, { requiredKeys: ['http'] }),
  fc.record({ tcp: fc.record({ port: fc.integer({ min: 1, max: 65535 }) }), ...timings }, { requiredKeys: ['tcp'] }),
);

const templateFields = {
  image: fc.constantFrom('berth-test/busybox:1', 'nginx:1.27', 'python:3.12-slim'),
  imagePullPolicy: fc.constantFrom('IfNotPresent', 'Always', 'Never'),
  command: fc.array(text, { maxLength: 3 }),
  args: fc.array(text, { maxLength: 3 }),
  workingDir: fc.constantFrom('/', '/app', '/srv/data'),
  env: fc.uniqueArray(fc.record({ name: envName, value: text }, { requiredKeys: ['name'] }), { selector: (e) => e.name, maxLength: 5 }),
  user: fc.constantFrom('1000', '1000:1000', 'nobody'),
  ports: fc.array(port, { maxLength: 3 }),
  network: fc.constantFrom('bridge', 'none', 'backend'),
  mounts: fc.array(mount, { maxLength: 2 }),
  resources: fc.record({ cpus, memory, pids: fc.integer({ min: 1, max: 4096 }) }, { requiredKeys: [] }),
  security: fc.record(
    { capDrop: fc.constantFrom(['ALL'], ['ALL', 'NET_RAW'], []), capAdd: fc.uniqueArray(cap, { maxLength: 2 }), noNewPrivileges: fc.boolean(), readOnlyRootFilesystem: fc.boolean(), privileged: fc.constant(false) },
    { requiredKeys: [] },
  ),
  healthCheck,
  labels: fc.dictionary(labelKey, text, { maxKeys: 3 }),
  stopGracePeriodSeconds: fc.integer({ min: 0, max: 300 }),
};
const policyFields = {
  state: fc.constantFrom('Running', 'Stopped'),
  restartPolicy: fc.constantFrom('Always', 'OnFailure', 'Never'),
  maxAgeSeconds: fc.integer({ min: 1, max: 86_400 }),
  ttlSecondsAfterFinished: fc.integer({ min: 0, max: 86_400 }),
  failedRetentionSeconds: fc.integer({ min: 0, max: 86_400 }),
};

const instanceSpec: fc.Arbitrary<Raw> = fc.record({ ...templateFields, ...policyFields }, { requiredKeys: ['image'] });
const metadata = fc.record(
  { name: fc.constantFrom('alice', 'bob-bot'), namespace: fc.constantFrom('default', 'tenants'), labels: fc.dictionary(labelKey, text, { maxKeys: 2 }), annotations: fc.dictionary(labelKey, text, { maxKeys: 2 }) },
  { requiredKeys: ['name'] },
);
const instance = fc.record({ metadata, spec: instanceSpec }).map(({ metadata, spec }) => ({ apiVersion: 'berth.dev/v1alpha1', kind: 'Instance', metadata, spec }));

const hashOf = (raw: Raw): ConfigHash => desiredInstance(InstanceSchema.parse(raw)).hash;
const specOf = (raw: Raw): Raw => raw['spec'] as Raw;
const withSpec = (raw: Raw, spec: Raw): Raw => ({ ...raw, spec });

/** A deterministic shuffle, from a seed. */
function shuffle<T>(items: readonly T[], seed: { s: number }): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    seed.s = (seed.s * 1103515245 + 12345) & 0x7fffffff;
    const j = seed.s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Every map's keys in a shuffled order; lists keep theirs. */
function shuffleKeys(value: unknown, seed: { s: number }): unknown {
  if (Array.isArray(value)) return value.map((v) => shuffleKeys(v, seed));
  if (value && typeof value === 'object') return Object.fromEntries(shuffle(Object.entries(value), seed).map(([k, v]) => [k, shuffleKeys(v, seed)]));
  return value;
}

const format = fc.record({
  seed: fc.integer({ min: 1, max: 2 ** 30 }),
  collectionStyle: fc.constantFrom('any', 'block', 'flow'),
  defaultStringType: fc.constantFrom('PLAIN', 'QUOTE_DOUBLE', 'QUOTE_SINGLE'),
  indent: fc.constantFrom(2, 4),
  json: fc.boolean(),
});

describe('configHash: the same container hashes alike', () => {
  it('whatever the key order and YAML style (block, flow, quoting, indentation, JSON)', () => {
    fc.assert(
      fc.property(instance, format, (raw, f) => {
        const shuffled = shuffleKeys(raw, { s: f.seed });
        const yaml = f.json
          ? JSON.stringify(shuffled as object, null, f.indent)
          : stringify(shuffled, { collectionStyle: f.collectionStyle, defaultStringType: f.defaultStringType, indent: f.indent });
        // The generated templates cover every field; the isolation policy is not what this checks.
        const loaded = parseSpecText(yaml, 'f.yaml', { policy: { ...DEFAULT_POLICY, ...ALLOW_ALL_ISOLATION } });
        expect(loaded.errors.map(String)).toEqual([]);
        expect(loaded.resources).toHaveLength(1);
        const hash = desiredInstance(loaded.resources[0]!.resource as ReturnType<typeof InstanceSchema.parse>).hash;
        expect(hash).toEqual(hashOf(raw));
      }),
    );
  });

  it('whether defaults are written out or omitted', () => {
    fc.assert(
      fc.property(instance, fc.boolean(), (raw, everything) => {
        expect(hashOf(withSpec(raw, writeDefaults(specOf(raw), everything)))).toEqual(hashOf(raw));
      }),
    );
  });

  it('whatever the order of env', () => {
    fc.assert(
      fc.property(instance, fc.integer({ min: 1, max: 2 ** 30 }), (raw, seed) => {
        const env = (specOf(raw)['env'] as unknown[] | undefined) ?? [];
        expect(hashOf(withSpec(raw, { ...specOf(raw), env: shuffle(env, { s: seed }) }))).toEqual(hashOf(raw));
      }),
    );
  });

  it('whatever the order of ports, also when one port is published twice', () => {
    const base = { apiVersion: 'berth.dev/v1alpha1', kind: 'Instance', metadata: { name: 'web' } };
    const a = hashOf({ ...base, spec: { image: 'x', ports: [{ containerPort: 80, hostPort: 8080 }, { containerPort: 80, hostPort: 8081 }, { containerPort: 443 }] } });
    const b = hashOf({ ...base, spec: { image: 'x', ports: [{ containerPort: 443 }, { containerPort: 80, hostPort: 8081 }, { containerPort: 80, hostPort: 8080 }] } });
    expect(b).toEqual(a);
  });

  it('for equal quantities written differently', () => {
    const base = { apiVersion: 'berth.dev/v1alpha1', kind: 'Instance', metadata: { name: 'web' } };
    const of = (resources: Raw) => hashOf({ ...base, spec: { image: 'x', resources } });
    const mem = [of({ memory: '512Mi' }), of({ memory: '536870912' }), of({ memory: 536870912 }), of({ memory: '524288Ki' }), of({ memory: '0.5Gi' })];
    for (const h of mem) expect(h).toEqual(mem[0]);
    const cpu = [of({ cpus: '1.5' }), of({ cpus: 1.5 }), of({ cpus: '1500m' })];
    for (const h of cpu) expect(h).toEqual(cpu[0]);
    expect(of({ memory: '512M' })).not.toEqual(mem[0]);
    // the controller default is part of the effective template: omitted equals written out
    expect(of({})).toEqual(of({ cpus: '1', memory: '1Gi', pids: 512 }));
  });

  it('for capabilities written with or without CAP_, in any case and order, repeated', () => {
    const base = { apiVersion: 'berth.dev/v1alpha1', kind: 'Instance', metadata: { name: 'web' } };
    const a = hashOf({ ...base, spec: { image: 'x', security: { capAdd: ['CHOWN', 'KILL'] } } });
    const b = hashOf({ ...base, spec: { image: 'x', security: { capAdd: ['kill', 'CAP_CHOWN', 'CHOWN'] } } });
    expect(b).toEqual(a);
  });

  it('is the same for literal specs written in block and flow style', () => {
    const block = [
      'apiVersion: berth.dev/v1alpha1',
      'kind: Instance',
      'metadata:',
      '  name: alice',
      'spec:',
      '  image: berth-test/busybox:1',
      '  env:',
      '    - name: B',
      '      value: "2"',
      '    - name: A',
      '      value: "1"',
      '  resources:',
      '    memory: 512Mi',
      '    cpus: "0.5"',
      '',
    ].join('\n');
    const flow = '{kind: Instance, apiVersion: berth.dev/v1alpha1, spec: {resources: {cpus: 0.5, memory: 536870912}, env: [{value: "1", name: A}, {name: B, value: "2"}], image: "berth-test/busybox:1"}, metadata: {name: alice}}\n';
    const [a, b] = [block, flow].map((t) => parseSpecText(t, 'f.yaml').resources[0]!.resource as ReturnType<typeof InstanceSchema.parse>);
    expect(desiredInstance(a!).hash).toEqual(desiredInstance(b!).hash);
  });
});

// Each mutation changes exactly one hashed field to a value that surely differs.
const effective = (spec: Raw) => effectiveTemplate(ContainerTemplateSchema.parse(Object.fromEntries(Object.entries(spec).filter(([k]) => k in templateFields))));
const MUTATIONS: Record<string, (spec: Raw) => Raw> = {
  image: (s) => ({ ...s, image: `${s['image'] as string}-changed` }),
  command: (s) => ({ ...s, command: [...((s['command'] as string[] | undefined) ?? []), 'extra'] }),
  args: (s) => ({ ...s, args: [...((s['args'] as string[] | undefined) ?? []), 'extra'] }),
  workingDir: (s) => ({ ...s, workingDir: '/changed' }),
  env: (s) => {
    const env = (s['env'] as { name: string; value?: string }[] | undefined) ?? [];
    if (env.length === 0) return { ...s, env: [{ name: 'ADDED', value: '1' }] };
    return { ...s, env: env.map((e, i) => (i === env.length - 1 ? { ...e, value: `${e.value ?? ''}!` } : e)) };
  },
  user: (s) => ({ ...s, user: 'changed' }),
  ports: (s) => ({ ...s, ports: [...((s['ports'] as unknown[] | undefined) ?? []), { containerPort: 9999 }] }),
  network: (s) => ({ ...s, network: effective(s).network === 'none' ? 'bridge' : 'none' }),
  mounts: (s) => ({ ...s, mounts: [...((s['mounts'] as unknown[] | undefined) ?? []), { type: 'tmpfs', target: '/changed' }] }),
  resources: (s) => ({ ...s, resources: { ...(s['resources'] as Raw | undefined), memory: effective(s).resources.memoryBytes + 2 ** 20 } }),
  security: (s) => ({ ...s, security: { ...(s['security'] as Raw | undefined), readOnlyRootFilesystem: !effective(s).security.readOnlyRootFilesystem } }),
  healthCheck: (s) => {
    const hc = s['healthCheck'] as Raw | undefined;
    if (!hc) return { ...s, healthCheck: { tcp: { port: 80 } } };
    return { ...s, healthCheck: { ...hc, periodSeconds: ((hc['periodSeconds'] as number | undefined) ?? 10) + 1 } };
  },
  labels: (s) => ({ ...s, labels: { ...(s['labels'] as Raw | undefined), changed: 'yes' } }),
  stopGracePeriodSeconds: (s) => ({ ...s, stopGracePeriodSeconds: ((s['stopGracePeriodSeconds'] as number | undefined) ?? 10) + 1 }),
};

describe('configHash: a change that matters changes the hash and names the field', () => {
  it('covers every hashed field', () => {
    const fields = Object.keys(configHash(effective({ image: 'x' })).fields).sort();
    expect(Object.keys(MUTATIONS).sort()).toEqual(fields);
  });

  it.each(Object.keys(MUTATIONS))('%s', (field) => {
    fc.assert(
      fc.property(instance, (raw) => {
        const before = hashOf(raw);
        const after = hashOf(withSpec(raw, MUTATIONS[field]!(specOf(raw))));
        expect(after.hash).not.toBe(before.hash);
        expect(driftedFields(after.fields, before.fields)).toEqual([field]);
        // as the controller sees it: digests read back from the container label
        expect(driftedFields(after.fields, decodeFieldDigests(encodeFieldDigests(before.fields)))).toEqual([field]);
      }),
    );
  });
});

describe('configHash: what need not recreate a container leaves the hash alone', () => {
  it('lifecycle policies, imagePullPolicy, metadata labels and annotations', () => {
    fc.assert(
      fc.property(instance, fc.record({ ...policyFields, imagePullPolicy: templateFields.imagePullPolicy }, { requiredKeys: [] }), metadata, (raw, policy, meta) => {
        const changed = { ...raw, metadata: { ...meta, name: (raw['metadata'] as Raw)['name'] }, spec: { ...specOf(raw), ...policy } };
        expect(hashOf(changed)).toEqual(hashOf(raw));
      }),
    );
  });

  it('removing every lifecycle policy', () => {
    fc.assert(
      fc.property(instance, (raw) => {
        const spec = Object.fromEntries(Object.entries(specOf(raw)).filter(([k]) => !(k in policyFields)));
        expect(hashOf(withSpec(raw, spec))).toEqual(hashOf(raw));
      }),
    );
  });
});

describe('field digests', () => {
  // An empty map encodes to "" and reads back as unknown (like a missing label); a real hash always has every field.
  it('round-trip through the label encoding', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.stringMatching(/^[A-Za-z][A-Za-z0-9]{0,20}$/), fc.stringMatching(/^[0-9a-f]{8}$/), { minKeys: 1 }), (fields) => {
        expect(decodeFieldDigests(encodeFieldDigests(fields))).toEqual(fields);
      }),
    );
  });

  it('round-trip the digests of real hashes', () => {
    fc.assert(
      fc.property(instance, (raw) => {
        const { fields } = hashOf(raw);
        expect(decodeFieldDigests(encodeFieldDigests(fields))).toEqual(fields);
      }),
    );
  });

  it('decode an absent label as unknown, and drift against unknown as unknown', () => {
    expect(decodeFieldDigests(undefined)).toBeUndefined();
    expect(decodeFieldDigests('')).toBeUndefined();
    expect(driftedFields({ image: 'aaaaaaaa' }, undefined)).toBeUndefined();
    expect(driftedFields({ image: 'aaaaaaaa', env: 'bbbbbbbb' }, { image: 'aaaaaaaa' })).toEqual(['env']);
  });
});

describe('hash format', () => {
  it('is versioned', () => {
    const h = configHash(effective({ image: 'x' }));
    expect(h.version).toBe(HASH_VERSION);
    expect(h.hash).toMatch(/^v1-[0-9a-f]{32}$/);
    expect(Object.values(h.fields).every((d) => /^[0-9a-f]{8}$/.test(d))).toBe(true);
    expect(knownHashVersion('1')).toBe(true);
    expect(knownHashVersion('0')).toBe(false);
    expect(knownHashVersion(undefined)).toBe(false);
    expect(() => configHash(effective({ image: 'x' }), '0')).toThrow(/unknown config hash version "0"/);
  });
});

/** The spec with defaults written out: all of them, or a few. */
function writeDefaults(spec: Raw, everything: boolean): Raw {
  const out: Raw = { ...spec };
  const maybe = (key: string, value: unknown, obj: Raw = out): void => {
    if (obj[key] === undefined && (everything || key.length % 2 === 0)) obj[key] = value;
  };
  maybe('imagePullPolicy', 'IfNotPresent');
  maybe('env', []);
  maybe('ports', []);
  maybe('network', 'bridge');
  maybe('mounts', []);
  maybe('labels', {});
  maybe('stopGracePeriodSeconds', 10);
  maybe('state', 'Running');
  maybe('restartPolicy', 'Always');
  out['env'] = (out['env'] as Raw[] | undefined)?.map((e) => ({ value: '', ...e }));
  out['ports'] = (out['ports'] as Raw[] | undefined)?.map((p) => ({ protocol: 'TCP', hostIP: '127.0.0.1', ...p }));
  out['mounts'] = (out['mounts'] as Raw[] | undefined)?.map((m) => ({ readOnly: false, ...m }));
  const resources: Raw = { ...(out['resources'] as Raw | undefined) };
  maybe('cpus', '1', resources);
  maybe('memory', '1Gi', resources);
  maybe('pids', 512, resources);
  out['resources'] = resources;
  const security: Raw = { ...(out['security'] as Raw | undefined) };
  maybe('capDrop', ['ALL'], security);
  maybe('capAdd', [], security);
  maybe('noNewPrivileges', true, security);
  maybe('readOnlyRootFilesystem', false, security);
  maybe('privileged', false, security);
  out['security'] = security;
  const hc = out['healthCheck'] as Raw | undefined;
  if (hc) {
    const full: Raw = { initialDelaySeconds: 0, periodSeconds: 10, timeoutSeconds: 2, failureThreshold: 3, successThreshold: 1, ...hc };
    if (full['http']) full['http'] = { path: '/', ...(full['http'] as Raw) };
    out['healthCheck'] = full;
  }
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  return out;
}
