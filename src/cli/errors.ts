// Failures the CLI reports as `error: ...` with an exit code, instead of a stack.

/** Exit codes: 1 a failure (bad input, the server said no), 3 the controller cannot be reached. */
export const EXIT = { failure: 1, unreachable: 3 } as const;

export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failure,
    /** Extra lines printed under the message (e.g. one per invalid field). */
    readonly details: string[] = [],
    options?: { cause?: unknown; plain?: boolean },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.plain = options?.plain ?? false;
  }
  /** Printed as is, without the `error: ` prefix (e.g. kubectl's "Error from server (NotFound): ..."). */
  readonly plain: boolean;

  /** The lines to print on stderr. */
  format(): string {
    return [this.plain ? this.message : `error: ${this.message}`, ...this.details].join('\n') + '\n';
  }
}
