// Resources applied through the HTTP API (`berth apply`), persisted in the
// state directory so they survive controller restarts.
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KINDS, keyOf, keyString, type Resource, type ResourceKey } from '../spec/schema.js';
import type { ResourceStore, StoredEntry } from '../controller/resource-store.js';
import { readFileIfExists } from '../state/atomic-file.js';
import { CoalescingWriter } from '../state/coalescing-writer.js';
import type { AppliedClaims } from '../state/claim-state.js';

const ORIGIN = { source: 'api' } as const;

export class ApiSource {
  private readonly file: string;
  private readonly writer: CoalescingWriter;
  private readonly appliedTexts = new WeakMap<Resource, string>();
  /** Why the state file could not be read whole at start; then nothing it may hold is pruned. */
  degraded: string | undefined;

  constructor(
    private readonly store: ResourceStore,
    stateDir: string,
    /**
     * Claims are made durable with their bindings (ClaimState), so that a
     * claim that binds at once costs one write: a claim is marked before the
     * store takes it (appliedChanging), and commit resolves once the claims'
     * files hold it.
     */
    private readonly claims?: { appliedChanging(id: string): void; commit(): Promise<void> },
  ) {
    this.file = join(stateDir, 'applied.json');
    this.writer = new CoalescingWriter(this.file, () => this.snapshot());
  }

  /** Loads what was applied before a restart; a corrupt entry is reported, the rest still load. */
  async load(onError: (message: string) => void): Promise<number> {
    const text = await readFileIfExists(this.file);
    if (text === undefined) return 0;
    let items: unknown[];
    try {
      items = JSON.parse(text) as unknown[];
    } catch (e) {
      this.degraded = `${this.file}: not valid JSON (${(e as Error).message}); applied resources were not restored${await this.keepCopy()}`;
      onError(this.degraded);
      return 0;
    }
    if (!Array.isArray(items)) {
      this.degraded = `${this.file}: expected a JSON list of resources; applied resources were not restored${await this.keepCopy()}`;
      onError(this.degraded);
      return 0;
    }
    let loaded = 0;
    let copy = false;
    items.forEach((item, i) => {
      const kind = (item as { kind?: string }).kind as keyof typeof KINDS;
      const parsed = KINDS[kind]?.schema.safeParse(item);
      if (!parsed?.success) {
        const message = `${this.file}: entry ${i} (${kind ?? 'no kind'}) no longer validates; skipped`;
        this.degraded ??= message;
        copy = true;
        onError(message);
        return;
      }
      this.store.apply(parsed.data as Resource, ORIGIN);
      loaded++;
    });
    if (copy) onError(`${this.file}: the entries that did not load are kept${await this.keepCopy()}`);
    return loaded;
  }

  /** The next write replaces the file with what loaded: what did not is copied aside first, never lost. */
  private async keepCopy(): Promise<string> {
    const aside = `${this.file}.unreadable-${Date.now()}`;
    try {
      await copyFile(this.file, aside);
      return `; the file was copied to ${aside}`;
    } catch (e) {
      return `; copying it aside failed (${(e as Error).message})`;
    }
  }

  async apply(resource: Resource): Promise<ReturnType<ResourceStore['apply']>> {
    // uid and generation are the server's (an apiserver ignores them in a request body); only load restores them.
    const { uid: _uid, generation: _generation, ...metadata } = resource.metadata;
    this.changing(keyOf(resource));
    const result = this.store.apply({ ...resource, metadata } as Resource, ORIGIN);
    if (result.change !== 'unchanged') await this.persist(resource.kind);
    return result;
  }

  async delete(key: ResourceKey): Promise<boolean> {
    this.changing(key);
    const removed = this.store.delete(key, ORIGIN);
    if (removed) await this.persist(key.kind);
    return removed !== undefined;
  }

  /** Restores claims kept beside their bindings (ClaimState.load). */
  restore(objects: readonly unknown[], onError: (message: string) => void): number {
    let loaded = 0;
    objects.forEach((item, i) => {
      const parsed = KINDS.InstanceClaim.schema.safeParse(item);
      if (!parsed.success) return onError(`claims.state: claim ${i} no longer validates; skipped`);
      this.store.apply(parsed.data as Resource, ORIGIN);
      loaded++;
    });
    return loaded;
  }

  /**
   * API-applied claims as they are kept beside their bindings: [keyString,
   * JSON text]. Each text is made once per applied version (a claim's
   * resource is replaced, never changed, when it is applied again), so a
   * commit with thousands of claims waiting costs a join, not a serialisation.
   */
  readonly appliedClaims: AppliedClaims = {
    all: () => this.allAppliedClaims(),
    get: (id) => {
      const e = this.store.getById(id);
      return e && e.object.kind === 'InstanceClaim' && e.origin.source === 'api' ? this.appliedText(e) : undefined;
    },
  };

  private *allAppliedClaims(): Iterable<readonly [string, string]> {
    for (const e of this.store.each('InstanceClaim')) if (e.origin.source === 'api') yield [keyString(keyOf(e.resource)), this.appliedText(e)];
  }

  private appliedText(e: StoredEntry): string {
    let text = this.appliedTexts.get(e.resource);
    if (text === undefined) this.appliedTexts.set(e.resource, (text = JSON.stringify(toApplied(e))));
    return text;
  }

  /** A claim kept beside the bindings is marked before the store takes the change (ClaimState.appliedChanging). */
  private changing(key: ResourceKey): void {
    if (key.kind === 'InstanceClaim') this.claims?.appliedChanging(keyString(key));
  }

  private persist(kind: Resource['kind']): Promise<void> {
    return kind === 'InstanceClaim' && this.claims ? this.claims.commit() : this.writer.write();
  }

  private snapshot(): string {
    const applied = this.store
      .list()
      .filter((e) => e.origin.source === 'api' && !(this.claims && e.object.kind === 'InstanceClaim'))
      .map(toApplied);
    return JSON.stringify(applied, null, 1) + '\n';
  }
}

function toApplied(e: StoredEntry): object {
  return {
    apiVersion: e.object.apiVersion,
    kind: e.object.kind,
    metadata: {
      name: e.object.metadata.name,
      namespace: e.object.metadata.namespace,
      // Kept so that a restart does not make it a new object (a watcher compares uids) and a claim's FIFO
      // position and age survive.
      uid: e.object.metadata.uid,
      generation: e.object.metadata.generation,
      creationTimestamp: e.object.metadata.creationTimestamp,
      ...(e.object.metadata.labels ? { labels: e.object.metadata.labels } : {}),
      ...(e.object.metadata.annotations ? { annotations: e.object.metadata.annotations } : {}),
    },
    spec: e.object.spec,
  };
}
