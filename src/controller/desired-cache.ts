// The desired state of a stored resource, computed once per resource object.
// The store replaces the object when the spec or its metadata changes (a
// status write keeps it), so an entry lives exactly as long as the spec it
// was made from. desired() hashes the effective template (canonical JSON and
// sha256 per field): every reconcile and every resync's look at every key paid
// for it again, about a fifth of the CPU of converging 1,000 Instances.
export class DesiredCache<R extends object, D> {
  private readonly cache = new WeakMap<R, D>();

  constructor(private readonly make: (resource: R) => D) {}

  get(resource: R): D {
    let d = this.cache.get(resource);
    if (d === undefined) this.cache.set(resource, (d = this.make(resource)));
    return d;
  }
}
