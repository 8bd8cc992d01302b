import { describe, expect, it } from 'vitest';
import { needsExec, statFromHeader } from './archive.js';

describe('docker archive', () => {
  it('goes through exec for a read-only root or a path under a tmpfs', () => {
    const info = (ro: boolean, tmpfs: Record<string, string> = {}, mounts: Array<{ Type: string; Destination: string }> = []) =>
      ({ HostConfig: { ReadonlyRootfs: ro, Tmpfs: tmpfs }, Mounts: mounts }) as never;
    expect(needsExec(info(true), '/work')).toBe(true);
    expect(needsExec(info(false), '/work')).toBe(false);
    expect(needsExec(info(false, { '/tmp': '' }), '/tmp/x')).toBe(true);
    expect(needsExec(info(false, { '/tmp': '' }), '/tmp')).toBe(true);
    expect(needsExec(info(false, { '/tmp': '' }), '/tmpx/y')).toBe(false);
    expect(needsExec(info(false, {}, [{ Type: 'tmpfs', Destination: '/work' }]), '/work/a')).toBe(true);
    expect(needsExec(info(false, {}, [{ Type: 'volume', Destination: '/work' }]), '/work/a')).toBe(false);
  });

  it('reads the engine path stat header (Go FileMode bits)', () => {
    const header = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64');
    expect(statFromHeader(header({ name: 'work', size: 4096, mode: 2 ** 31 + 0o755 }))).toEqual({ type: 'directory', size: 4096 });
    expect(statFromHeader(header({ name: 'a', size: 3, mode: 0o644 }))).toEqual({ type: 'file', size: 3 });
    expect(statFromHeader(header({ name: 'l', size: 5, mode: 2 ** 27 + 0o777 }))).toEqual({ type: 'symlink', size: 5 });
    expect(statFromHeader(undefined)).toBeUndefined();
  });
});
