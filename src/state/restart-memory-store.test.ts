import { afterEach, describe, expect, it, vi } from 'vitest';
import { RestartMemoryStore } from './restart-memory-store.js';

const KEY = { kind: 'Instance', namespace: 'default', name: 'bot' } as const;

afterEach(() => {
  vi.useRealTimers();
});

describe('RestartMemoryStore', () => {
  it('schedules a write only when what it keeps changes (a create resets a count that is already zero)', () => {
    vi.useFakeTimers();
    const store = new RestartMemoryStore('/nonexistent-state-dir');
    store.update(KEY, { restartCount: 0, lastRestartAt: undefined });
    expect(vi.getTimerCount()).toBe(0);
    store.update(KEY, { restartCount: 1, lastRestartAt: 1000 });
    expect(vi.getTimerCount()).toBe(1);
    expect(store.get(KEY)).toEqual({ restartCount: 1, lastRestartAt: 1000 });
    // Dropped before it fires: nothing is written to the made-up directory.
    vi.clearAllTimers();
  });
});
