import { describe, expect, it } from 'vitest';
import { ManagedIds } from './managed-ids.js';

const id = (n: number): string => n.toString(16).padStart(64, '0');

describe('ManagedIds', () => {
  it('keeps full ids only: a name or short id may pass to another container', () => {
    const m = new ManagedIds();
    m.add(id(1));
    m.add('berth-default-web');
    m.add(id(2).slice(0, 12));
    expect(m.has(id(1))).toBe(true);
    expect(m.has('berth-default-web')).toBe(false);
    expect(m.has(id(2).slice(0, 12))).toBe(false);
  });

  it('forgets a removed id and the oldest beyond its capacity', () => {
    const m = new ManagedIds(2);
    m.add(id(1));
    m.add(id(2));
    m.add(id(3));
    expect([1, 2, 3].map((n) => m.has(id(n)))).toEqual([false, true, true]);
    m.delete(id(3));
    expect(m.has(id(3))).toBe(false);
  });
});
