import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyMergePatch, mergePatchBetween } from './merge-patch.js';

describe('mergePatchBetween', () => {
  it('sends only what changed; removed keys become null; arrays are replaced whole', () => {
    const from = { phase: 'Creating', containerId: 'abc', restartCount: 0, lastProbe: { ok: true, message: 'x' }, conditions: [{ type: 'Ready', status: 'False' }] };
    const to = { phase: 'Ready', restartCount: 0, lastProbe: { ok: true }, conditions: [{ type: 'Ready', status: 'True' }] };
    expect(mergePatchBetween(from, to)).toEqual({ phase: 'Ready', containerId: null, lastProbe: { message: null }, conditions: [{ type: 'Ready', status: 'True' }] });
  });

  it('is undefined when nothing changed', () => {
    expect(mergePatchBetween({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] })).toBeUndefined();
    expect(mergePatchBetween(undefined, undefined)).toBeUndefined();
  });

  it('a key named __proto__ or constructor is data, not the prototype (fast-check found it)', () => {
    const from = JSON.parse('{"a":1}') as unknown;
    const to = JSON.parse('{"a":1,"__proto__":{"x":1},"constructor":2}') as unknown;
    const patch = mergePatchBetween(from, to);
    expect(JSON.stringify(patch)).toBe('{"__proto__":{"x":1},"constructor":2}');
    expect(JSON.stringify(applyMergePatch(from, patch))).toBe(JSON.stringify(to));
    expect(JSON.stringify(mergePatchBetween(to, from))).toBe('{"__proto__":null,"constructor":null}');
  });

  it('applied to from, gives to (property)', () => {
    // Merge patch cannot express a null value (null means delete): JSON without nulls.
    const json = fc.jsonValue().filter((v) => !JSON.stringify(v).includes('null')) as fc.Arbitrary<unknown>;
    const obj = fc.dictionary(fc.string({ minLength: 1, maxLength: 4 }), fc.oneof(json, fc.dictionary(fc.string({ minLength: 1, maxLength: 3 }), json)));
    fc.assert(
      fc.property(obj, obj, (from, to) => {
        // JSON round-trip: -0 and the like are not JSON.
        const [f, t] = [JSON.parse(JSON.stringify(from)) as unknown, JSON.parse(JSON.stringify(to)) as unknown];
        const patch = mergePatchBetween(f, t);
        expect(patch === undefined ? f : applyMergePatch(f, patch)).toEqual(t);
      }),
    );
  });
});
