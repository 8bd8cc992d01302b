// The controller's single-step operations and launch, composed the same way
// on every runtime from its own engine steps (create, start, stop, rename):
// each runtime keeps its mechanics in those steps (docker/, kubernetes/,
// memory/) and its own retire, where the runtimes differ on whether a stop
// must come first.
import { createThenStart } from './compound.js';
import type { CreateRequest, OnStep, Runtime } from './types.js';

export abstract class SteppedRuntime implements Pick<Runtime, 'launch' | 'relaunch' | 'halt' | 'promote'> {
  /** Creates the member (on Kubernetes it then runs as soon as it can); a taken name is Conflict. */
  protected abstract create(req: CreateRequest, signal?: AbortSignal): Promise<string>;
  /** Runs a member that is not running; a running one is success. */
  protected abstract start(id: string, signal?: AbortSignal): Promise<void>;
  /** Stops the process and keeps the member; a member not running is success, a missing one NotFound. */
  protected abstract stop(id: string, graceSeconds: number, signal?: AbortSignal): Promise<void>;
  /** Gives the member berth's name. */
  protected abstract rename(id: string, name: string, signal?: AbortSignal): Promise<void>;

  launch(req: CreateRequest, signal?: AbortSignal, onStep?: OnStep): Promise<string> {
    return createThenStart(() => this.create(req, signal), (id) => this.start(id, signal), onStep, signal);
  }

  relaunch(id: string, signal?: AbortSignal): Promise<void> {
    return this.start(id, signal);
  }

  halt(id: string, graceSeconds: number, signal?: AbortSignal): Promise<void> {
    return this.stop(id, graceSeconds, signal);
  }

  promote(id: string, name: string, signal?: AbortSignal): Promise<void> {
    return this.rename(id, name, signal);
  }
}
