import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SpecError } from './errors.js';
import { loadSpecPaths, MAX_NESTING_DEPTH, MAX_SPEC_BYTES, parseSpecText, readYamlDocuments, validateResource, warmUpClaimValidation } from './load.js';
import { DEFAULT_POLICY } from './policy.js';

const lines = (...ls: string[]): string => `${ls.join('\n')}\n`;
const formatted = (r: { errors: SpecError[] }): string[] => r.errors.map(String);
const names = (r: { resources: { resource: { kind: string; metadata: { namespace: string; name: string } } }[] }): string[] =>
  r.resources.map(({ resource: x }) => `${x.kind}/${x.metadata.namespace}/${x.metadata.name}`);

describe('SpecError', () => {
  it('formats as file:line path: message', () => {
    const e = new SpecError({ file: 'specs/bots.yaml', line: 14, column: 13, path: 'spec.resources.memory' }, 'invalid quantity "2 gigs"');
    expect(String(e)).toBe('specs/bots.yaml:14 spec.resources.memory: invalid quantity "2 gigs"');
    expect(e.format()).toBe(String(e));
    expect(e.message).toBe('invalid quantity "2 gigs"');
    expect(e.terminal).toBe(true);
    expect(e).toBeInstanceOf(Error);
    expect(e.toJSON()).toEqual({ file: 'specs/bots.yaml', line: 14, column: 13, path: 'spec.resources.memory', message: 'invalid quantity "2 gigs"' });
  });

  it('formats without a line or a path, and keeps its cause', () => {
    const cause = new Error('EACCES');
    const e = new SpecError({ file: 'specs/x.yaml' }, 'cannot read: permission denied', { cause });
    expect(String(e)).toBe('specs/x.yaml: cannot read: permission denied');
    expect(e.cause).toBe(cause);
    expect(String(new SpecError({ file: 'a.yaml', line: 3 }, 'Map keys must be unique'))).toBe('a.yaml:3: Map keys must be unique');
  });
});

describe('parseSpecText', () => {
  it('loads every document of a multi-document text, skipping empty ones, with the line each starts on', () => {
    const r = parseSpecText(
      lines(
        '# bots', //                                   1
        '---', //                                      2
        'apiVersion: berth.dev/v1alpha1', //           3
        'kind: Instance', //                           4
        'metadata: {name: alice}', //                  5
        'spec: {image: berth-test/busybox:1}', //      6
        '---', //                                      7
        '# nothing here', //                           8
        '---', //                                      9
        'apiVersion: berth.dev/v1alpha1', //           10
        'kind: InstanceClaim', //                      11
        'metadata: {name: c1, namespace: ci}', //      12
        'spec: {poolRef: {name: runners}}', //         13
      ),
      'f.yaml',
    );
    expect(r.errors).toEqual([]);
    expect(r.resources.map((x) => `${x.file}:${x.line} ${x.resource.kind}/${x.resource.metadata.namespace}/${x.resource.metadata.name}`)).toEqual([
      'f.yaml:3 Instance/default/alice',
      'f.yaml:10 InstanceClaim/ci/c1',
    ]);
  });

  it('locates an invalid quantity on the line of its key', () => {
    const r = parseSpecText(
      lines(
        'apiVersion: berth.dev/v1alpha1', //  1
        'kind: Instance', //                  2
        'metadata:', //                       3
        '  name: bob', //                     4
        'spec:', //                           5
        '  image: berth-test/busybox:1', //   6
        '  resources:', //                    7
        '    cpus: "0.5"', //                 8
        '    memory: 2 gigs', //              9
      ),
      'f.yaml',
    );
    expect(formatted(r)).toEqual(['f.yaml:9 spec.resources.memory: invalid quantity "2 gigs" (e.g. "512Mi", "1Gi", "536870912")']);
    expect(r.errors[0]).toMatchObject({ file: 'f.yaml', line: 9, column: 5, path: 'spec.resources.memory' });
    expect(r.resources).toEqual([]);
  });

  it('reports malformed YAML with its line, and still loads the other documents', () => {
    const r = parseSpecText(
      lines(
        'apiVersion: berth.dev/v1alpha1', //  1
        'kind: Instance', //                  2
        'metadata: {name: ok}', //            3
        'spec: {image: x}', //                4
        '---', //                             5
        'apiVersion: berth.dev/v1alpha1', //  6
        'kind: Instance', //                  7
        'metadata:', //                       8
        '  name: broken', //                  9
        ' spec: {image: x}', //               10  bad indentation
      ),
      'f.yaml',
    );
    expect(names(r)).toEqual(['Instance/default/ok']);
    expect(r.errors.length).toBeGreaterThan(0);
    expect(r.errors[0]!.file).toBe('f.yaml');
    expect(r.errors[0]!.line).toBe(10);
  });

  it('reports an unclosed flow collection', () => {
    const r = parseSpecText(lines('apiVersion: berth.dev/v1alpha1', 'kind: Instance', 'metadata: {name: x', 'spec: {image: x}'), 'f.yaml');
    expect(r.resources).toEqual([]);
    expect(r.errors.length).toBeGreaterThan(0);
    expect(r.errors.every((e) => e.file === 'f.yaml' && typeof e.line === 'number')).toBe(true);
  });

  it('refuses duplicate keys, at the line of the second', () => {
    const r = parseSpecText(
      lines(
        'apiVersion: berth.dev/v1alpha1', //  1
        'kind: Instance', //                  2
        'metadata: {name: x}', //             3
        'spec:', //                           4
        '  image: a', //                      5
        '  image: b', //                      6
      ),
      'f.yaml',
    );
    expect(formatted(r)).toEqual(['f.yaml:6: Map keys must be unique']);
  });

  it('locates wrong types at the offending key', () => {
    const r = parseSpecText(
      lines(
        'apiVersion: berth.dev/v1alpha1', //  1
        'kind: Instance', //                  2
        'metadata: {name: x}', //             3
        'spec:', //                           4
        '  image: a', //                      5
        '  command: sh -c true', //           6
        '  ports:', //                        7
        '    - containerPort: 80', //         8
        '    - containerPort: eighty', //     9
        '  stopGracePeriodSeconds: 1.5', //   10
        '  resources:', //                    11
        '    cpus: yes', //                   12
        '    memory: [1Gi]', //               13
      ),
      'f.yaml',
    );
    expect(formatted(r)).toEqual([
      'f.yaml:6 spec.command: expected array, got "sh -c true"',
      'f.yaml:9 spec.ports[1].containerPort: expected number, got "eighty"',
      'f.yaml:10 spec.stopGracePeriodSeconds: expected int, got number 1.5',
      'f.yaml:12 spec.resources.cpus: invalid quantity "yes" (e.g. "1.5", "500m")',
      'f.yaml:13 spec.resources.memory: expected string or number, got a list',
    ]);
  });

  it('locates unknown fields at the line of the key, naming the key in the path', () => {
    const r = parseSpecText(
      lines(
        'apiVersion: berth.dev/v1alpha1', //  1
        'kind: Instance', //                  2
        'metadata:', //                       3
        '  name: x', //                       4
        '  lables: {a: b}', //                5
        'spec:', //                           6
        '  image: a', //                      7
        '  env:', //                          8
        '    - name: A', //                   9
        '      valeu: "1"', //                10
        '  replicas: 3', //                   11
      ),
      'f.yaml',
    );
    expect(formatted(r)).toEqual(['f.yaml:5 metadata.lables: unknown field', 'f.yaml:10 spec.env[0].valeu: unknown field', 'f.yaml:11 spec.replicas: unknown field']);
  });

  it('locates a missing required field at its parent map', () => {
    const r = parseSpecText(
      lines(
        'apiVersion: berth.dev/v1alpha1', //  1
        'kind: Instance', //                  2
        'metadata:', //                       3
        '  namespace: team-a', //             4
        'spec:', //                           5
        '  command: [sleep, "60"]', //        6
        '  mounts:', //                       7
        '    - type: volume', //              8
        '      target: /data', //             9
      ),
      'f.yaml',
    );
    expect(formatted(r)).toEqual([
      'f.yaml:3 metadata.name: required field is missing',
      'f.yaml:5 spec.image: required field is missing',
      'f.yaml:8 spec.mounts[0].source: required for a volume mount',
    ]);
  });

  it('locates a missing top-level field at the document start', () => {
    const r = parseSpecText(lines('# header', 'apiVersion: berth.dev/v1alpha1', 'kind: Instance', 'metadata: {name: x}'), 'f.yaml');
    expect(formatted(r)).toEqual(['f.yaml:2 spec: required field is missing']);
  });

  it('reports an invalid name', () => {
    const r = parseSpecText(lines('apiVersion: berth.dev/v1alpha1', 'kind: Instance', 'metadata:', '  name: Alice_Bot', 'spec: {image: x}'), 'f.yaml');
    expect(formatted(r)).toEqual([
      `f.yaml:4 metadata.name: invalid name "Alice_Bot": must be a DNS-1123 label (lowercase letters, digits and '-', starting and ending with a letter or digit)`,
    ]);
  });

  it('names kind and apiVersion when they are wrong or missing', () => {
    const r = parseSpecText(
      lines(
        'apiVersion: v1', //                      1
        'kind: Pod', //                           2
        'metadata: {name: x}', //                 3
        '---', //                                 4
        'apiVersion: berth.dev/v1', //            5
        'kind: Instance', //                      6
        'metadata: {name: x}', //                 7
        'spec: {image: x}', //                    8
        '---', //                                 9
        'metadata: {name: x}', //                 10
        '---', //                                 11
        'kind: InstancePool', //                  12
        'metadata: {name: p}', //                 13
        'spec: {template: {image: x}}', //        14
        '---', //                                 15
        '- just', //                              16
        '- a list', //                            17
      ),
      'f.yaml',
    );
    expect(formatted(r)).toEqual([
      'f.yaml:2 kind: unknown kind "Pod" (expected one of Instance, InstancePool, InstanceClaim)',
      'f.yaml:5 apiVersion: unsupported apiVersion "berth.dev/v1" for kind Instance (expected "berth.dev/v1alpha1")',
      'f.yaml:10 kind: required field is missing (one of Instance, InstancePool, InstanceClaim)',
      'f.yaml:12 apiVersion: required field is missing (expected "berth.dev/v1alpha1")',
      'f.yaml:16: expected a mapping with apiVersion, kind, metadata and spec, got a list',
    ]);
  });

  it('names enum values and ranges', () => {
    const r = parseSpecText(
      lines(
        'apiVersion: berth.dev/v1alpha1', //  1
        'kind: InstancePool', //              2
        'metadata: {name: p}', //             3
        'spec:', //                           4
        '  minReady: -1', //                  5
        '  template:', //                     6
        '    image: x', //                    7
        '    imagePullPolicy: Sometimes', //  8
      ),
      'f.yaml',
    );
    expect(formatted(r)).toEqual([
      'f.yaml:5 spec.minReady: expected number to be >=0 (got number -1)',
      'f.yaml:8 spec.template.imagePullPolicy: invalid value "Sometimes" (expected "IfNotPresent", "Always", "Never")',
    ]);
  });

  it('reports policy violations as located errors under spec', () => {
    const r = parseSpecText(
      lines(
        'apiVersion: berth.dev/v1alpha1', //  1
        'kind: Instance', //                  2
        'metadata: {name: x}', //             3
        'spec:', //                           4
        '  image: a', //                      5
        '  network: host', //                 6
        '  mounts:', //                       7
        '    - type: tmpfs', //               8
        '      target: /tmp', //              9
        '    - type: bind', //                10
        '      source: /var/run', //          11
        '      target: /host', //             12
        '  security:', //                     13
        '    privileged: true', //            14
        '    capAdd: [NET_ADMIN]', //         15
        '---', //                             16
        'apiVersion: berth.dev/v1alpha1', //  17
        'kind: InstancePool', //              18
        'metadata: {name: p}', //             19
        'spec:', //                           20
        '  template:', //                     21
        '    image: a', //                    22
        '    security: {privileged: true}', //23
      ),
      'f.yaml',
    );
    expect(formatted(r)).toEqual([
      'f.yaml:6 spec.network: host network is refused by this controller (start it with --allow-host-network)',
      'f.yaml:10 spec.mounts[1].type: bind mounts are refused by this controller (start it with --allow-bind-mounts)',
      'f.yaml:14 spec.security.privileged: privileged containers are refused by this controller (start it with --allow-privileged)',
      'f.yaml:15 spec.security.capAdd[0]: capability NET_ADMIN is not in the allow-list (CHOWN, DAC_OVERRIDE, FOWNER, SETGID, SETUID, NET_BIND_SERVICE, KILL)',
      'f.yaml:23 spec.template.security.privileged: privileged containers are refused by this controller (start it with --allow-privileged)',
    ]);
    expect(r.resources).toEqual([]);
  });

  it('loads what the controller policy allows', () => {
    const text = lines('apiVersion: berth.dev/v1alpha1', 'kind: Instance', 'metadata: {name: x}', 'spec: {image: a, network: host, security: {privileged: true}}');
    const r = parseSpecText(text, 'f.yaml', { policy: { ...DEFAULT_POLICY, allowHostNetwork: true, allowPrivileged: true } });
    expect(r.errors).toEqual([]);
    expect(names(r)).toEqual(['Instance/default/x']);
  });

  it('refuses both documents of a duplicate kind/namespace/name, each naming the other', () => {
    const r = parseSpecText(
      lines(
        'apiVersion: berth.dev/v1alpha1', //          1
        'kind: Instance', //                          2
        'metadata: {name: web}', //                   3
        'spec: {image: a}', //                        4
        '---', //                                     5
        'apiVersion: berth.dev/v1alpha1', //          6
        'kind: Instance', //                          7
        'metadata: {name: web, namespace: other}', // 8  other namespace: fine
        'spec: {image: a}', //                        9
        '---', //                                     10
        'apiVersion: berth.dev/v1alpha1', //          11
        'kind: InstancePool', //                      12
        'metadata: {name: web}', //                   13 other kind: fine
        'spec: {template: {image: a}}', //            14
        '---', //                                     15
        'apiVersion: berth.dev/v1alpha1', //          16
        'kind: Instance', //                          17
        'metadata:', //                               18
        '  namespace: default', //                    19
        '  name: web', //                             20
        'spec: {image: b}', //                        21
      ),
      'f.yaml',
    );
    expect(formatted(r)).toEqual([
      'f.yaml:3 metadata.name: duplicate Instance "default/web": also defined at f.yaml:16; neither is applied until one is removed',
      'f.yaml:20 metadata.name: duplicate Instance "default/web": also defined at f.yaml:1; neither is applied until one is removed',
    ]);
    expect(names(r)).toEqual(['Instance/other/web', 'InstancePool/default/web']);
  });

  it('refuses a text above the size limit, naming the file', () => {
    const big = lines('apiVersion: berth.dev/v1alpha1', 'kind: Instance', 'metadata: {name: x}', 'spec: {image: a}', `# ${'x'.repeat(MAX_SPEC_BYTES)}`);
    const r = parseSpecText(big, 'specs/huge.yaml');
    expect(formatted(r)).toEqual([`specs/huge.yaml: file is too large (${Buffer.byteLength(big)} bytes; the limit is ${MAX_SPEC_BYTES})`]);
    expect(r.resources).toEqual([]);
  });

  it('refuses an alias bomb ("billion laughs") quickly', () => {
    const bomb = lines(
      'apiVersion: berth.dev/v1alpha1',
      'kind: Instance',
      'metadata: {name: lol}',
      'spec:',
      '  image: a',
      '  args: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
      'x:',
      '  b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]',
      '  c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]',
      '  d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]',
      '  e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]',
      '  f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]',
      '  g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]',
      '  h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g,*g]',
      '  i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h,*h]',
      '  j: &j [*i,*i,*i,*i,*i,*i,*i,*i,*i,*i]',
    );
    const started = performance.now();
    const r = parseSpecText(bomb, 'lol.yaml');
    expect(performance.now() - started).toBeLessThan(1000);
    expect(formatted(r)).toEqual(['lol.yaml:1: too many alias expansions (refused as a possible "billion laughs" attack)']);
    expect(r.resources).toEqual([]);
  });

  it('allows a few aliases', () => {
    const r = parseSpecText(
      lines('apiVersion: berth.dev/v1alpha1', 'kind: Instance', 'metadata: {name: x}', 'spec:', '  image: a', '  command: &cmd [sleep, "60"]', '  args: *cmd'),
      'f.yaml',
    );
    expect(r.errors).toEqual([]);
    expect(r.resources[0]!.resource.spec).toMatchObject({ command: ['sleep', '60'], args: ['sleep', '60'] });
  });

  it.each([
    ['flow', `${'['.repeat(500_000)}${']'.repeat(500_000)}\n`, 1],
    ['block sequence', `${'- '.repeat(500_000)}x\n`, 1],
    ['block map', `${Array.from({ length: 1000 }, (_, i) => `${' '.repeat(i)}k:`).join('\n')} v\n`, 100],
  ])('refuses %s nesting deeper than the limit quickly, without exhausting stack or heap', (_, text, line) => {
    const started = performance.now();
    const r = parseSpecText(text, 'deep.yaml');
    expect(performance.now() - started).toBeLessThan(1000);
    expect(formatted(r)).toEqual([`deep.yaml:${line}: structure nested too deeply (more than ${MAX_NESTING_DEPTH} levels)`]);
  });

  it('does not let keys reach the prototype', () => {
    const r = parseSpecText(lines('apiVersion: berth.dev/v1alpha1', 'kind: Instance', 'metadata: {name: x}', 'spec: {image: a}', '__proto__: {polluted: true}'), 'f.yaml');
    expect(formatted(r)).toEqual(['f.yaml:5 __proto__: unknown field']);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('treats an empty text as no resources and no errors', () => {
    expect(parseSpecText('', 'f.yaml')).toEqual({ resources: [], errors: [] });
    expect(parseSpecText('# only a comment\n---\n---\n', 'f.yaml')).toEqual({ resources: [], errors: [] });
  });
});

describe('readYamlDocuments', () => {
  it('returns plain values with their lines, under the same limits, without a schema', () => {
    expect(readYamlDocuments(lines('a: 1', '---', '# empty', '---', '- b', 'c: [', '---', '{d: *nope}'), 'body')).toEqual({
      documents: [
        { value: { a: 1 }, line: 1 },
      ],
      errors: [expect.objectContaining({ file: 'body', line: 6 }), expect.objectContaining({ file: 'body', line: 8 })],
    });
    expect(readYamlDocuments(`${'['.repeat(500_000)}\n`, 'body').errors.map(String)).toEqual([`body:1: structure nested too deeply (more than ${MAX_NESTING_DEPTH} levels)`]);
    expect(readYamlDocuments('a: 1\n', 'body', { maxBytes: 4 }).errors.map(String)).toEqual(['body: file is too large (5 bytes; the limit is 4)']);
  });
});

describe('validateResource', () => {
  it('validates a parsed object with paths and no lines', () => {
    const r = validateResource({ apiVersion: 'berth.dev/v1alpha1', kind: 'Instance', metadata: { name: 'x' }, spec: { image: 'a', resources: { memory: '2 gigs' } } }, '<request>');
    expect(r.resource).toBeUndefined();
    expect(formatted(r)).toEqual(['<request> spec.resources.memory: invalid quantity "2 gigs" (e.g. "512Mi", "1Gi", "536870912")']);
    const ok = validateResource({ apiVersion: 'berth.dev/v1alpha1', kind: 'Instance', metadata: { name: 'x' }, spec: { image: 'a' } }, '<request>');
    expect(ok.errors).toEqual([]);
    expect(ok.resource?.metadata).toEqual({ name: 'x', namespace: 'default' });
  });
});

describe('loadSpecPaths', () => {
  const mixed = relative(process.cwd(), fileURLToPath(new URL('./testdata/mixed', import.meta.url)));
  let tmp: string;
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'berth-load-'));
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('loads the good files of a directory and reports the bad one, skipping dot-dirs, dot-files and non-YAML', async () => {
    const r = await loadSpecPaths([mixed]);
    expect(formatted(r)).toEqual([`${join(mixed, 'bad-memory.yaml')}:9 spec.resources.memory: invalid quantity "2 gigs" (e.g. "512Mi", "1Gi", "536870912")`]);
    expect(r.resources.map((x) => `${x.file}:${x.line}`)).toEqual([`${join(mixed, 'good-web.yaml')}:1`, `${join(mixed, 'nested', 'good-pool.yml')}:1`]);
    expect(names(r)).toEqual(['Instance/default/web', 'InstancePool/sandboxes/runners']);
  });

  it('loads a file given by name whatever its extension, and a path given twice once', async () => {
    const r = await loadSpecPaths([join(mixed, 'good-web.yaml'), mixed, join(mixed, 'notes.txt')]);
    expect(names(r)).toEqual(['Instance/default/web', 'InstancePool/sandboxes/runners']);
    expect(formatted(r)).toEqual([
      expect.stringContaining('bad-memory.yaml:9 spec.resources.memory'),
      `${join(mixed, 'notes.txt')}:2 kind: unknown kind "NotAKind" (expected one of Instance, InstancePool, InstanceClaim)`,
    ]);
  });

  it('reports a missing path without throwing', async () => {
    const r = await loadSpecPaths(['specs/does-not-exist.yaml', mixed]);
    expect(formatted(r)[0]).toBe('specs/does-not-exist.yaml: cannot read: no such file or directory');
    expect(names(r)).toHaveLength(2);
  });

  it('refuses a file above the size limit before reading it, naming the file', async () => {
    const file = join(tmp, 'huge.yaml');
    await writeFile(file, `# ${'x'.repeat(MAX_SPEC_BYTES)}\n`);
    const r = await loadSpecPaths([file]);
    expect(formatted(r)).toEqual([`${file}: file is too large (${MAX_SPEC_BYTES + 3} bytes; the limit is ${MAX_SPEC_BYTES})`]);
  });

  it('finds duplicates across files: both are errors naming the other, and neither is loaded (an earlier file takes nothing over)', async () => {
    const dir = join(tmp, 'dups');
    await rm(dir, { recursive: true, force: true });
    await import('node:fs/promises').then((fs) => fs.mkdir(dir));
    await writeFile(join(dir, 'a.yaml'), lines('# first', 'apiVersion: berth.dev/v1alpha1', 'kind: Instance', 'metadata: {name: web}', 'spec: {image: a}'));
    await writeFile(join(dir, 'b.yaml'), lines('apiVersion: berth.dev/v1alpha1', 'kind: Instance', 'metadata: {name: web}', 'spec: {image: b}'));
    const r = await loadSpecPaths([dir]);
    expect(formatted(r)).toEqual([
      `${join(dir, 'a.yaml')}:4 metadata.name: duplicate Instance "default/web": also defined at ${join(dir, 'b.yaml')}:1; neither is applied until one is removed`,
      `${join(dir, 'b.yaml')}:3 metadata.name: duplicate Instance "default/web": also defined at ${join(dir, 'a.yaml')}:2; neither is applied until one is removed`,
    ]);
    expect(r.resources).toEqual([]);
  });

  it('reads "-" through readStdin, as <stdin>', async () => {
    const text = lines('apiVersion: berth.dev/v1alpha1', 'kind: Instance', 'metadata: {name: web}', 'spec: {image: a}');
    const r = await loadSpecPaths(['-', join(mixed, 'good-web.yaml')], { readStdin: async () => text });
    expect(r.resources).toEqual([]);
    expect(formatted(r)).toEqual([
      `<stdin>:3 metadata.name: duplicate Instance "default/web": also defined at ${join(mixed, 'good-web.yaml')}:1; neither is applied until one is removed`,
      `${join(mixed, 'good-web.yaml')}:4 metadata.name: duplicate Instance "default/web": also defined at <stdin>:1; neither is applied until one is removed`,
    ]);
    const without = await loadSpecPaths(['-']);
    expect(formatted(without)).toEqual(['<stdin>: reading specs from stdin ("-") is not supported here']);
  });
});

describe('warmUpClaimValidation', () => {
  it('validates a claim that is valid, so the warm-up runs the path a real claim takes', () => {
    expect(warmUpClaimValidation()).toEqual([]);
    expect(warmUpClaimValidation(DEFAULT_POLICY)).toEqual([]);
  });
});
