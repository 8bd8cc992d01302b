// The Supervisor's actors, found by owner and by container id without a scan.
// Each reconcile looks up its owner's actors and its containers' actors: a
// scan of every actor per lookup made a reconcile O(actors) and converging N
// Instances O(N²) (10,000 Instances: seconds of CPU in findById alone).
import { keyString, type ResourceKey } from '../spec/schema.js';

export class ActorIndex<E extends { owner: ResourceKey }> {
  private readonly all = new Map<string, E>();
  private readonly byOwner = new Map<string, Map<string, E>>();
  private readonly byContainer = new Map<string, string>();
  private readonly containerOf = new Map<string, string>();

  get size(): number {
    return this.all.size;
  }

  add(actorId: string, entry: E, containerId?: string): void {
    this.all.set(actorId, entry);
    const owner = keyString(entry.owner);
    let of = this.byOwner.get(owner);
    if (!of) this.byOwner.set(owner, (of = new Map()));
    of.set(actorId, entry);
    if (containerId !== undefined) this.setContainer(actorId, containerId);
  }

  /** The actor's container id became known (or is said again: cheap). */
  setContainer(actorId: string, containerId: string): void {
    if (!this.all.has(actorId) || this.containerOf.get(actorId) === containerId) return;
    const before = this.containerOf.get(actorId);
    if (before !== undefined && this.byContainer.get(before) === actorId) this.byContainer.delete(before);
    this.containerOf.set(actorId, containerId);
    this.byContainer.set(containerId, actorId);
  }

  delete(actorId: string): boolean {
    const entry = this.all.get(actorId);
    if (!entry) return false;
    this.all.delete(actorId);
    const owner = keyString(entry.owner);
    const of = this.byOwner.get(owner);
    of?.delete(actorId);
    if (of?.size === 0) this.byOwner.delete(owner);
    const containerId = this.containerOf.get(actorId);
    this.containerOf.delete(actorId);
    if (containerId !== undefined && this.byContainer.get(containerId) === actorId) this.byContainer.delete(containerId);
    return true;
  }

  /** The owner's actors (id, entry); deleting while iterating is allowed. */
  ofOwner(owner: ResourceKey): IterableIterator<[string, E]> {
    return (this.byOwner.get(keyString(owner)) ?? new Map<string, E>()).entries();
  }

  /** The actor last told of this container id. */
  byContainerId(containerId: string): E | undefined {
    const actorId = this.byContainer.get(containerId);
    return actorId === undefined ? undefined : this.all.get(actorId);
  }

  values(): IterableIterator<E> {
    return this.all.values();
  }

  clear(): void {
    this.all.clear();
    this.byOwner.clear();
    this.byContainer.clear();
    this.containerOf.clear();
  }
}
