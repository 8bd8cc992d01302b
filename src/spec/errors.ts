// A SpecError is bad input, located: the file as the user named it, the line
// (1-based) and the field path. It is terminal: retrying cannot fix a spec, so
// the controller reports it (status reason InvalidSpec, `berth validate`) and
// carries on with the other resources.

export interface SpecErrorLocation {
  /** The file as given (relative stays relative), or "<stdin>". */
  file: string;
  /** 1-based line, when known. */
  line?: number;
  /** 1-based column, when known. */
  column?: number;
  /** Field path such as "spec.resources.memory" or "spec.env[0].name"; "" for the document or file itself. */
  path?: string;
}

export class SpecError extends Error {
  override readonly name = 'SpecError';
  /** Never retried: the input must change first. */
  readonly terminal = true as const;
  readonly file: string;
  readonly line: number | undefined;
  readonly column: number | undefined;
  readonly path: string;

  constructor(location: SpecErrorLocation, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.file = location.file;
    this.line = location.line;
    this.column = location.column;
    this.path = location.path ?? '';
  }

  /** `specs/bots.yaml:14 spec.resources.memory: invalid quantity "2 gigs"`. */
  format(): string {
    const where = this.line === undefined ? this.file : `${this.file}:${this.line}`;
    return this.path ? `${where} ${this.path}: ${this.message}` : `${where}: ${this.message}`;
  }

  override toString(): string {
    return this.format();
  }

  toJSON(): { file: string; line?: number; column?: number; path: string; message: string } {
    return {
      file: this.file,
      ...(this.line === undefined ? {} : { line: this.line }),
      ...(this.column === undefined ? {} : { column: this.column }),
      path: this.path,
      message: this.message,
    };
  }
}

/** "spec.env[0].name" from ['spec', 'env', 0, 'name']; odd keys are quoted: metadata.labels["app.kubernetes.io/name"]. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (typeof seg === 'string' && /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(String(seg))}]`;
  }
  return out;
}
