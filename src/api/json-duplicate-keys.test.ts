import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { duplicateJsonKey } from './json-duplicate-keys.js';

describe('duplicateJsonKey', () => {
  it('finds a key given twice in one object, with its line and the path of the object', () => {
    expect(duplicateJsonKey('{"metadata":{"name":"a",\n"name":"b"}}')).toEqual({ key: 'name', line: 2, path: 'metadata' });
    expect(duplicateJsonKey('{"a":1,"a":2}')).toEqual({ key: 'a', line: 1, path: '' });
    expect(duplicateJsonKey('{"spec":{"ports":[{"p":1,"p":2}]}}')).toEqual({ key: 'p', line: 1, path: 'spec.ports[]' });
  });

  it('compares keys as decoded: an escape spelling the same key is the same key', () => {
    expect(duplicateJsonKey('{"name":1,"n\\u0061me":2}')).toMatchObject({ key: 'name' });
  });

  it('leaves alone equal keys in different objects, keys inside string values, and escaped quotes', () => {
    expect(duplicateJsonKey('{"a":{"x":1},"b":{"x":2},"c":[{"x":1},{"x":2}]}')).toBeUndefined();
    expect(duplicateJsonKey('{"a":"\\"a\\":1, \\"a\\"","b":"{\\"a\\":1,\\"a\\":2}"}')).toBeUndefined();
    expect(duplicateJsonKey('[1,"a",{"a":1}]')).toBeUndefined();
  });

  it('never reports an object JSON.stringify made (no duplicates there)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(duplicateJsonKey(JSON.stringify(v, null, 1))).toBeUndefined();
      }),
    );
  });

  it('finds a duplicate added to any object', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue(), { minKeys: 1 }), (o) => {
        const [k] = Object.keys(o);
        const text = JSON.stringify(o).replace(/}$/, () => `,${JSON.stringify(k)}:null}`); // a function: a key such as "$$" is no pattern
        expect(duplicateJsonKey(text)).toMatchObject({ key: k, path: '' });
      }),
    );
  });
});
