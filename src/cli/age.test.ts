import { describe, expect, it } from 'vitest';
import { ageOf, formatAge } from './age.js';

describe('formatAge (kubectl HumanDuration)', () => {
  const s = 1000;
  const m = 60 * s;
  const h = 60 * m;
  const d = 24 * h;
  it.each([
    [0, '0s'],
    [-5 * s, '0s'],
    [59 * s, '59s'],
    [119 * s, '119s'],
    [2 * m, '2m'],
    [3 * m + 12 * s, '3m12s'],
    [10 * m + 30 * s, '10m'],
    [179 * m, '179m'],
    [3 * h, '3h'],
    [5 * h + 20 * m, '5h20m'],
    [20 * h, '20h'],
    [3 * d + 4 * h, '3d4h'],
    [7 * d, '7d'],
    [45 * d, '45d'],
    [800 * d, '2y70d'],
    [9 * 365 * d, '9y'],
  ])('%i ms -> %s', (ms, text) => {
    expect(formatAge(ms)).toBe(text);
  });

  it('ageOf reads RFC 3339 and says <unknown> otherwise', () => {
    const now = Date.parse('2025-01-01T00:10:00Z');
    expect(ageOf('2025-01-01T00:00:00Z', now)).toBe('10m');
    expect(ageOf(undefined, now)).toBe('<unknown>');
    expect(ageOf('yesterday', now)).toBe('<unknown>');
  });
});
