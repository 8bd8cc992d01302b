// The condition reason and message a failed act step reports: causes users
// can act on (EngineUnavailable, ImagePullFailed, ...), not stack traces.
import { isRuntimeError } from '../runtime/errors.js';

export function errorReason(e: unknown): { reason: string; message: string } {
  if (isRuntimeError(e)) {
    // The engine's reason when it named one (a Pod that will not start says why), except pulls, which keep ImagePullFailed.
    const reason = e.code === 'ImagePullFailed' ? 'ImagePullFailed' : e.reason ?? (e.code === 'Unavailable' || e.code === 'Timeout' ? 'EngineUnavailable' : 'CreateFailed');
    return { reason, message: e.message };
  }
  return { reason: 'ReconcileError', message: (e as Error)?.message ?? String(e) };
}
