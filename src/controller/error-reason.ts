// The condition reason and message a failed act step reports: causes users
// can act on (EngineUnavailable, ImagePullFailed, ...), not stack traces.
import { isRuntimeError } from '../runtime/errors.js';

export function errorReason(e: unknown): { reason: string; message: string } {
  if (isRuntimeError(e)) {
    const reason = e.code === 'Unavailable' || e.code === 'Timeout' ? 'EngineUnavailable' : e.code === 'ImagePullFailed' ? 'ImagePullFailed' : 'CreateFailed';
    return { reason, message: e.message };
  }
  return { reason: 'ReconcileError', message: (e as Error)?.message ?? String(e) };
}
