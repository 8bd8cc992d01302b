import { describe, expect, it } from 'vitest';
import { cid, containerOf, desiredInstance, exitedOf, HOUR, NOW, planText, SECOND } from './testing.js';

const ID = cid('3f2a1b0c9d8e');

describe('max age rule', () => {
  const d = desiredInstance({ maxAgeSeconds: 2 * 3600 });

  it('asks to be woken when a young container comes of age', () => {
    expect(planText(d, [containerOf(d, { id: ID, createdAt: NOW - HOUR })])).toBe(
      ['Instance/default/web: nothing to do', 'Instance/default/web: next check at 2026-01-01T13:00:00Z'].join('\n'),
    );
  });

  it('replaces a container at or past its maximum age', () => {
    expect(planText(d, [containerOf(d, { id: ID, createdAt: NOW - 2 * HOUR })])).toBe('Instance/default/web: replace 3f2a1b0c9d8e (max age exceeded)');
    expect(planText(d, [containerOf(d, { id: ID, createdAt: NOW - 3 * HOUR })])).toBe('Instance/default/web: replace 3f2a1b0c9d8e (max age exceeded)');
  });

  it('stops first when a fixed host port is bound', () => {
    const withPort = desiredInstance({ maxAgeSeconds: 60, ports: [{ containerPort: 80, hostPort: 8080 }] });
    expect(planText(withPort, [containerOf(withPort, { id: ID })])).toBe('Instance/default/web: replace 3f2a1b0c9d8e stop-first (max age exceeded)');
  });

  it('leaves an old crashed container to the exited rule (restart with backoff), not a fresh container', () => {
    const crashed = exitedOf(d, 1, SECOND, 3 * HOUR, { id: ID, createdAt: NOW - 4 * HOUR });
    expect(planText(d, [crashed])).toBe('Instance/default/web: restart 3f2a1b0c9d8e attempt 1 (container exited with code 1)');
  });

  it('does not rotate a Stopped Instance', () => {
    const stopped = desiredInstance({ maxAgeSeconds: 60, state: 'Stopped' });
    expect(planText(stopped, [exitedOf(stopped, 0, HOUR, HOUR, { id: ID })])).toBe('Instance/default/web: nothing to do');
  });
});
