import { describe, expect, it } from 'vitest';
import { claimRequestedAt } from './requested-at.js';

const at = (iso: string, annotations?: Record<string, string>) => ({ creationTimestamp: iso, ...(annotations ? { annotations } : {}) });
const T = Date.parse('2026-12-04T18:00:05Z');

describe('claimRequestedAt', () => {
  it('keeps a precise timestamp (the standalone store)', () => {
    expect(claimRequestedAt(at('2026-12-04T18:00:05.123Z'), T + 900)).toBe(T + 123);
  });
  it('takes the annotation when it falls in the creation second', () => {
    expect(claimRequestedAt(at('2026-12-04T18:00:05Z', { 'berth.dev/requested-at': String(T + 640) }), T + 700)).toBe(T + 640);
    expect(claimRequestedAt(at('2026-12-04T18:00:05Z', { 'berth.dev/requested-at': String(T + 5000) }), T + 700)).toBe(T + 700);
  });
  it('takes the first sight of a claim seen live, capped at the end of its second', () => {
    expect(claimRequestedAt(at('2026-12-04T18:00:05Z'), T + 412)).toBe(T + 412);
    expect(claimRequestedAt(at('2026-12-04T18:00:05Z'), T + 1500)).toBe(T + 999);
  });
  it('keeps the timestamp of a claim older than the controller', () => {
    expect(claimRequestedAt(at('2026-12-04T18:00:05Z'), T + 60_000)).toBe(T);
  });
});
