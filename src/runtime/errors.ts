// One small code set for every runtime failure, so the controller's single
// retry policy can decide without knowing which engine answered.
export type RuntimeErrorCode = 'NotFound' | 'Conflict' | 'AlreadyDone' | 'Unavailable' | 'ImagePullFailed' | 'Invalid' | 'Timeout' | 'Unknown';

export class RuntimeError extends Error {
  override readonly name = 'RuntimeError';
  constructor(
    readonly code: RuntimeErrorCode,
    message: string,
    options?: { cause?: unknown; retryAfterMs?: number; reason?: string },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.retryAfterMs = options?.retryAfterMs;
    this.reason = options?.reason;
  }
  readonly retryAfterMs: number | undefined;
  /** The engine's own CamelCase reason when it gave one users can act on (Kubernetes: Unschedulable, ErrImageNeverPull, CreateContainerConfigError, ...). */
  readonly reason: string | undefined;
}

export const isRuntimeError = (e: unknown, code?: RuntimeErrorCode): e is RuntimeError =>
  e instanceof RuntimeError && (code === undefined || e.code === code);
