import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { claimLabelIsStale, claimLabelValue } from './claim-label.js';

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

describe('claimLabelValue', () => {
  it('is the claim name when it fits a label value', () => {
    expect(claimLabelValue('c1')).toBe('c1');
    expect(claimLabelValue('a'.repeat(63))).toBe('a'.repeat(63));
  });

  it('cuts a longer name and keeps it unique with a digest', () => {
    const long = `${'a'.repeat(70)}.x`;
    const v = claimLabelValue(long);
    expect(v.length).toBeLessThanOrEqual(63);
    expect(v).toMatch(LABEL_VALUE);
    expect(claimLabelValue(`${'a'.repeat(70)}.y`)).not.toBe(v);
  });

  it('is a valid label value for every DNS subdomain name', () => {
    const name = fc.stringMatching(/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/);
    fc.assert(fc.property(name, (n) => claimLabelValue(n).length <= 63 && LABEL_VALUE.test(claimLabelValue(n))));
  });
});

describe('claimLabelIsStale', () => {
  it('no label: clean', () => expect(claimLabelIsStale(undefined, undefined, undefined)).toBe(false));
  it('a label no claim backs: stale (not warm, recycled)', () => expect(claimLabelIsStale('c1', undefined, undefined)).toBe(true));
  it('a label with a claim holding the member: held, not stale', () => expect(claimLabelIsStale('c1', 'c1', undefined)).toBe(false));
  it('a member held by another claim than its label says is still held, never warm', () => expect(claimLabelIsStale('c1', 'c2', undefined)).toBe(false));
  it('a member recycled since: clean (its label is being removed)', () => expect(claimLabelIsStale('c1', undefined, 1000)).toBe(false));
});
