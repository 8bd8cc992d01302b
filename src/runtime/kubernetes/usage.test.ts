import { describe, expect, it } from 'vitest';
import { parseQuantity, usageFromPodMetrics } from './usage.js';

describe('parseQuantity', () => {
  it.each([
    ['250m', 0.25],
    ['12345678n', 0.012345678],
    ['1', 1],
    ['1.5', 1.5],
    ['64Mi', 64 * 2 ** 20],
    ['1Gi', 2 ** 30],
    ['500k', 500_000],
    ['1e3', 1000],
    ['12u', 0.000012],
  ])('%s', (q, n) => {
    expect(parseQuantity(q)).toBeCloseTo(n, 12);
  });

  it('is undefined for anything else', () => {
    expect(parseQuantity('lots')).toBeUndefined();
    expect(parseQuantity(undefined)).toBeUndefined();
  });
});

describe('usageFromPodMetrics', () => {
  it('reports cpu as percent of one core and memory in bytes, for the main container', () => {
    expect(
      usageFromPodMetrics({
        containers: [
          { name: 'sidecar', usage: { cpu: '1', memory: '1Gi' } },
          { name: 'main', usage: { cpu: '1500m', memory: '64Mi' } },
        ],
      }),
    ).toEqual({ cpuPercent: 150, memoryBytes: 64 * 2 ** 20 });
    expect(usageFromPodMetrics({})).toEqual({});
  });
});
