import { describe, expect, it } from 'vitest';
import { DesiredCache } from './desired-cache.js';

describe('DesiredCache', () => {
  it('computes once per resource object, again for a new object', () => {
    let made = 0;
    const cache = new DesiredCache((r: { v: number }) => ({ v: r.v, n: ++made }));
    const a = { v: 1 };
    expect(cache.get(a)).toEqual({ v: 1, n: 1 });
    expect(cache.get(a)).toBe(cache.get(a));
    expect(made).toBe(1);
    expect(cache.get({ v: 1 })).toEqual({ v: 1, n: 2 });
  });
});
