// Full container ids known to carry berth's managed-by label. A Docker
// container's labels cannot change and its id is never reused, so once seen
// (created by berth, listed under the label, or inspected) an id needs no
// inspect before the next start, stop or remove: each of those would
// otherwise cost the engine two calls. Names and short ids are not kept: a
// name can pass to another container.

const FULL_ID = /^[0-9a-f]{64}$/;

export class ManagedIds {
  private readonly ids = new Set<string>();

  constructor(private readonly capacity = 20_000) {}

  has(id: string): boolean {
    return this.ids.has(id);
  }

  add(id: string): void {
    if (!FULL_ID.test(id) || this.ids.has(id)) return;
    // Oldest first out: a Set iterates in insertion order.
    if (this.ids.size >= this.capacity) this.ids.delete(this.ids.values().next().value as string);
    this.ids.add(id);
  }

  delete(id: string): void {
    this.ids.delete(id);
  }
}
