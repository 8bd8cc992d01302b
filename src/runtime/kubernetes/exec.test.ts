import { describe, expect, it } from 'vitest';
import { envMissing, exitCodeOf, failureExitCode, wrapCommand } from './exec.js';

describe('wrapCommand', () => {
  it('puts the marker in the environment through env, keeping the argv', () => {
    expect(wrapCommand(['sh', '-c', 'sleep 1'], 'u-1')).toEqual(['env', 'BERTH_EXEC_ID=u-1', 'sh', '-c', 'sleep 1']);
  });

  it('leaves a command alone that env would read as its own option or assignment', () => {
    expect(wrapCommand(['-x'], 'u')).toBeUndefined();
    expect(wrapCommand(['A=b', 'cmd'], 'u')).toBeUndefined();
    expect(wrapCommand([], 'u')).toBeUndefined();
  });
});

describe('exitCodeOf', () => {
  it('reads Success and NonZeroExitCode', () => {
    expect(exitCodeOf({ status: 'Success' })).toBe(0);
    expect(exitCodeOf({ status: 'Failure', reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: '7' }] } })).toBe(7);
    expect(exitCodeOf({ status: 'Failure', reason: 'InternalError', message: 'boom' })).toBeUndefined();
    expect(exitCodeOf(undefined)).toBeUndefined();
  });
});

describe('envMissing', () => {
  it('recognises the runtimes\' "env not found" answers, not the command\'s own', () => {
    const runc = 'OCI runtime exec failed: exec failed: unable to start container process: exec: "env": executable file not found in $PATH: unknown';
    expect(envMissing(126, runc)).toBe(true);
    expect(envMissing(-1, runc)).toBe(true);
    expect(envMissing(127, "env: 'python': No such file or directory")).toBe(false);
    expect(envMissing(0, runc)).toBe(false);
  });

  it('failureExitCode: 127 for not found, else 126', () => {
    expect(failureExitCode('exec: "nope": executable file not found in $PATH')).toBe(127);
    expect(failureExitCode('permission denied')).toBe(126);
  });
});
