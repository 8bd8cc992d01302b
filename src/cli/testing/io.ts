import type { Io } from '../io.js';

export interface CapturedIo extends Io {
  stdout: string;
  stderr: string;
  interrupt(): void;
}

/** An Io that records what a command prints; stdin is the given text. */
export function captureIo(stdin = ''): CapturedIo {
  const interrupt = new AbortController();
  const io: CapturedIo = {
    stdout: '',
    stderr: '',
    out: (t) => void (io.stdout += t),
    err: (t) => void (io.stderr += t),
    readStdin: async () => stdin,
    isTTY: false,
    interrupted: interrupt.signal,
    interrupt: () => interrupt.abort(),
  };
  return io;
}
