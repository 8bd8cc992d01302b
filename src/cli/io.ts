// Where a command writes and reads, so commands run the same in tests.

export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** The whole of standard input. */
  readStdin(): Promise<string>;
  /** Standard output is a terminal. */
  readonly isTTY: boolean;
  /** Ends watches and follows (tests); a real process simply dies on Ctrl-C. */
  readonly interrupted?: AbortSignal;
}

export function processIo(): Io {
  return {
    out: (t) => void process.stdout.write(t),
    err: (t) => void process.stderr.write(t),
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const c of process.stdin as AsyncIterable<Buffer>) chunks.push(c);
      return Buffer.concat(chunks).toString('utf8');
    },
    isTTY: Boolean(process.stdout.isTTY),
  };
}
