// Group commit for a state file: many changes in a burst (hundreds of claims
// at once) share one atomic write instead of queueing one fsync each. A
// caller's promise resolves once a write that includes its change is durable.
import { writeFileAtomic } from './atomic-file.js';

/** Makes `text` the file's durable content (writeFileAtomic or writeStateSlots). */
export type DurableWrite = (file: string, text: string) => Promise<void>;

export class CoalescingWriter {
  private inFlight: Promise<void> | undefined;
  /** What the write in flight carries. */
  private inFlightText: string | undefined;
  private next: Promise<void> | undefined;

  constructor(
    private readonly file: string,
    /** Serialises the current state; called at write time, so it sees every change made so far. */
    private readonly snapshot: () => string,
    private readonly durableWrite: DurableWrite = writeFileAtomic,
  ) {}

  /** Durable once resolved: the file holds the state as of (at least) this call. */
  write(): Promise<void> {
    if (!this.inFlight) return this.start();
    // Nothing changed since the write in flight took its snapshot: that write makes this caller durable too.
    if (!this.next && this.snapshot() === this.inFlightText) return this.inFlight;
    // A write is running and may have serialised before this change: queue one more, shared by all who arrive meanwhile.
    this.next ??= this.inFlight.catch(() => undefined).then(() => {
      this.next = undefined;
      return this.start();
    });
    return this.next;
  }

  private start(): Promise<void> {
    const text = this.snapshot();
    const p = this.durableWrite(this.file, text).finally(() => {
      if (this.inFlight === p) {
        this.inFlight = undefined;
        this.inFlightText = undefined;
      }
    });
    this.inFlight = p;
    this.inFlightText = text;
    return p;
  }
}
