// A compound runtime operation (launch, retire) run one engine step at a time
// under the same rules as a single-step one (relaunch, halt): each step holds
// its own permit of the --max-concurrent-ops limiter, released between steps
// (the order of the line is the same as when the lifecycle machine made each
// engine call itself), and is timed under its own name, the op label of
// berth_runtime_operation_duration_seconds.
import type { OnStep, OperationStep } from '../runtime/types.js';

export interface StepLimiter {
  run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T>;
}

export interface PacedStepsOptions {
  limiter: StepLimiter;
  signal: AbortSignal;
  /** One step ended. */
  observe?: (step: string, result: 'success' | 'error', seconds: number) => void;
  /** A step is announced, before it waits for its permit. */
  heard?: (step: OperationStep) => void;
  /** The step's name when the operation ended before it announced one (a read before its first step failed). */
  firstStep: OperationStep['name'];
}

interface Current {
  name?: OperationStep['name'];
  began: number;
  release: () => void;
}

export async function runPaced<T>(run: (onStep: OnStep) => Promise<T>, o: PacedStepsOptions): Promise<T> {
  let current: Current | undefined = { began: 0, release: await permit(o.limiter, o.signal) };
  current.began = performance.now();
  const end = (result: 'success' | 'error'): void => {
    if (!current) return;
    o.observe?.(current.name ?? o.firstStep, result, (performance.now() - current.began) / 1000);
    current.release();
    current = undefined;
  };
  const onStep: OnStep = async (step) => {
    o.heard?.(step);
    // The first announcement names the step under way since the operation began.
    if (current && current.name === undefined) {
      current.name = step.name;
      return;
    }
    end('success');
    const release = await permit(o.limiter, o.signal);
    current = { name: step.name, began: performance.now(), release };
  };
  try {
    const out = await run(onStep);
    end('success');
    return out;
  } catch (e) {
    end('error');
    throw e;
  }
}

/** A permit held until the returned function is called (the limiter's run, kept open). */
function permit(limiter: StepLimiter, signal: AbortSignal): Promise<() => void> {
  return new Promise((granted, refused) => {
    limiter.run(() => new Promise<void>((release) => granted(() => release())), signal).catch(refused);
  });
}
