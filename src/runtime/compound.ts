// The compound operations of the Runtime interface (launch, retire) as engine
// steps, shared by the runtimes: each step is announced to the caller's
// OnStep before it runs (see types.ts), so every runtime paces and reports
// them the same way.
import { abortError } from './deadline-call.js';
import { isRuntimeError } from './errors.js';
import type { OnStep } from './types.js';

/** launch: create, then start; the start waits for its announcement, which carries the new id. */
export async function createThenStart(create: () => Promise<string>, start: (id: string) => Promise<void>, onStep: OnStep | undefined, signal: AbortSignal | undefined): Promise<string> {
  await onStep?.({ name: 'create' });
  const id = await create();
  await onStep?.({ name: 'start', memberId: id });
  // Abandoned once created: the member stays created, its caller knows the id.
  if (signal?.aborted) throw abortError(signal);
  await start(id);
  return id;
}

/**
 * retire: a stop when `stop` is given (a member whose removal would not end
 * its process at once, or one given grace), then the removal. A member found
 * gone by the stop is retired already.
 */
export async function stopThenRemove(stop: (() => Promise<void>) | undefined, remove: () => Promise<void>, onStep: OnStep | undefined, signal: AbortSignal | undefined): Promise<void> {
  if (stop) {
    await onStep?.({ name: 'stop' });
    try {
      await stop();
    } catch (e) {
      if (isRuntimeError(e, 'NotFound')) return;
      throw e;
    }
  }
  await onStep?.({ name: 'remove' });
  if (signal?.aborted) throw abortError(signal);
  await remove();
}
