// Request bodies as a hostile or careless client sends them, for the fuzz
// suites: deep nesting, huge scalars, wrong types in otherwise valid
// resources, YAML tricks (aliases, tags, merge keys, duplicate keys), binary
// and invalid UTF-8, under every content type.
import fc from 'fast-check';

export interface HostileBody {
  /** What the case is, for a failure message. */
  label: string;
  contentType: string | undefined;
  body: string | Buffer;
}

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'APPLICATION/JSON',
  'application/merge-patch+json',
  'application/yaml',
  'text/yaml',
  'application/x-yaml',
  'text/plain',
  'text/plain;charset=UTF-8',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=----x',
  'application/octet-stream',
  'text/html',
  'application/xml',
  ';;;',
  'application/json, text/plain',
  'application/jsonx',
  undefined,
] as const;

export const contentTypes = fc.constantFrom(...CONTENT_TYPES);

/** A valid Instance, InstancePool or InstanceClaim of the given plural, as a plain object. */
export function validResource(plural: string, name = 'fuzz'): Record<string, unknown> {
  const metadata = { name, namespace: 'default' };
  const template = { image: 'berth-test/busybox:1', command: ['sleep', '1'] };
  if (plural === 'instancepools') return { apiVersion: 'berth.dev/v1alpha1', kind: 'InstancePool', metadata, spec: { template, minReady: 0 } };
  if (plural === 'instanceclaims') return { apiVersion: 'berth.dev/v1alpha1', kind: 'InstanceClaim', metadata, spec: { poolRef: { name: 'none' } } };
  return { apiVersion: 'berth.dev/v1alpha1', kind: 'Instance', metadata, spec: template };
}

const deepNesting = fc
  .record({ depth: fc.integer({ min: 90, max: 40_000 }), shape: fc.constantFrom('[', '{"a":', '{a: ', '- ', '[{"b":', 'a:\n ') })
  .map(({ depth, shape }) => {
    const open = shape === 'a:\n ' ? Array.from({ length: Math.min(depth, 2000) }, (_, i) => `${' '.repeat(i)}a:\n`).join('') : shape.repeat(depth);
    const close = shape === '[' ? ']'.repeat(depth) : shape.startsWith('{"') ? '1' + '}'.repeat(depth) : shape === '[{"b":' ? '1' + '}]'.repeat(depth) : '';
    return { label: `nested ${depth} x ${JSON.stringify(shape)}`, text: open + close };
  });

const hugeScalar = fc
  .record({ size: fc.integer({ min: 64 * 1024, max: 1_200_000 }), where: fc.constantFrom('name', 'image', 'env', 'key', 'bare') })
  .map(({ size, where }) => {
    const big = 'x'.repeat(size);
    const r = validResource('instances');
    if (where === 'name') (r['metadata'] as Record<string, unknown>)['name'] = big;
    else if (where === 'image') (r['spec'] as Record<string, unknown>)['image'] = big;
    else if (where === 'env') (r['spec'] as Record<string, unknown>)['env'] = [{ name: 'A', value: big }];
    else if (where === 'key') (r['spec'] as Record<string, unknown>)[big] = 1;
    return { label: `huge scalar ${size} at ${where}`, text: where === 'bare' ? JSON.stringify(big) : JSON.stringify(r) };
  });

/** A path into a valid resource replaced by anything (wrong types, nulls, prototypes). */
const wrongTypes = fc
  .record({
    plural: fc.constantFrom('instances', 'instancepools', 'instanceclaims'),
    path: fc.constantFrom(['kind'], ['apiVersion'], ['metadata'], ['metadata', 'name'], ['metadata', 'namespace'], ['metadata', 'labels'], ['spec'], ['spec', 'image'], ['spec', 'command'], ['spec', 'env'], ['spec', 'ports'], ['spec', 'template'], ['spec', 'poolRef'], ['spec', 'security'], ['spec', 'resources'], ['__proto__'], ['constructor', 'prototype'], ['metadata', 'resourceVersion']),
    value: fc.oneof(fc.anything({ maxDepth: 3 }).filter((v) => v !== undefined), fc.constantFrom(null, true, 0, -1, 1e308, '', [], {}, '0', 'NaN', [[[]]])),
  })
  .map(({ plural, path, value }) => {
    const r = validResource(plural) as Record<string, unknown>;
    let at = r;
    for (const seg of path.slice(0, -1)) {
      if (typeof at[seg] !== 'object' || at[seg] === null) at[seg] = {};
      at = at[seg] as Record<string, unknown>;
    }
    Object.defineProperty(at, path[path.length - 1]!, { value, enumerable: true, configurable: true, writable: true });
    let text: string;
    try {
      text = JSON.stringify(r);
    } catch {
      text = '{}';
    }
    return { label: `wrong type at ${path.join('.')}`, text };
  });

const yamlTricks = fc.constantFrom(
  { label: 'alias bomb', text: ['a: &a [x,x,x,x,x,x,x,x,x,x]', 'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]', 'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]', 'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]', 'e: [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]'].join('\n') },
  { label: 'self alias', text: 'a: &a\n  b: *a\n' },
  { label: 'duplicate keys', text: 'kind: Instance\nkind: InstancePool\n' },
  { label: 'merge key', text: 'base: &b {apiVersion: berth.dev/v1alpha1}\n<<: *b\nkind: Instance\nmetadata: {name: m}\nspec: {image: x}\n' },
  { label: 'js tags', text: 'kind: !!js/function "function(){}"\nspec: !!binary aGVsbG8=\n' },
  { label: 'unknown tag', text: '!<tag:evil> {a: 1}\n' },
  { label: 'two documents', text: 'a: 1\n---\nb: 2\n' },
  { label: 'directive', text: '%YAML 9.9\n---\na: 1\n' },
  { label: 'non-string keys', text: '? [a, b]\n: 1\n{x: 1}: 2\n' },
  { label: 'tabs and bad indent', text: 'spec:\n\timage: x\n  - a\n' },
  { label: 'lone surrogates', text: '{"kind":"\\ud800"}' },
  { label: 'BOM and NUL', text: '\ufeff{"kind":"Instance\u0000"}' },
  { label: 'empty', text: '' },
  { label: 'whitespace', text: ' \n\t\n' },
  { label: 'null document', text: 'null' },
  { label: 'scalar', text: '42' },
  { label: 'list', text: '[1, 2, 3]' },
  { label: 'prototype pollution', text: '{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}},"kind":"Instance"}' },
);

const randomJson = fc.jsonValue({ maxDepth: 6 }).map((v) => ({ label: 'random JSON', text: JSON.stringify(v) ?? 'null' }));
const randomText = fc.string({ unit: 'binary', maxLength: 2000 }).map((s) => ({ label: 'random text', text: s }));

const binary = fc.uint8Array({ maxLength: 4096 }).map((b) => ({ label: 'binary', bytes: Buffer.from(b) }));
const invalidUtf8 = fc
  .record({ prefix: fc.constantFrom('kind: Instance\nmetadata:\n  name: "', '{"kind":"', ''), bad: fc.constantFrom([0xff], [0xc3, 0x28], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xc0, 0xaf]) })
  .map(({ prefix, bad }) => ({ label: `invalid UTF-8 ${bad.map((b) => b.toString(16)).join(' ')}`, bytes: Buffer.concat([Buffer.from(prefix), Buffer.from(bad), Buffer.from('"\n')]) }));

/** Any hostile body under any content type. */
export function hostileBody(plural = 'instances'): fc.Arbitrary<HostileBody> {
  const text = fc.oneof(
    { arbitrary: deepNesting, weight: 3 },
    { arbitrary: hugeScalar, weight: 1 },
    { arbitrary: wrongTypes, weight: 6 },
    { arbitrary: yamlTricks, weight: 3 },
    { arbitrary: randomJson, weight: 3 },
    { arbitrary: randomText, weight: 2 },
    { arbitrary: fc.constant({ label: 'valid', text: JSON.stringify(validResource(plural)) }), weight: 1 },
  );
  const bytes = fc.oneof(binary, invalidUtf8);
  return fc.oneof({ arbitrary: text, weight: 8 }, { arbitrary: bytes, weight: 2 }).chain((b) =>
    contentTypes.map((contentType) => ({ label: b.label, contentType, body: 'bytes' in b ? b.bytes : b.text })),
  );
}
