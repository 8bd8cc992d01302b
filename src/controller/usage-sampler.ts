// The last resource usage sample per Instance, and when the next one is due:
// samples cost a stats call each, so they are taken at most every period and
// belong to one container (a replacement starts without one).
export type Usage = { cpu?: string; memory?: string; pids?: number };

export class UsageSampler {
  private readonly samples = new Map<string, { containerId: string; usage: Usage }>();
  private readonly takenAt = new Map<string, number>();

  get(owner: string, containerId: string): Usage | undefined {
    const s = this.samples.get(owner);
    return s?.containerId === containerId ? s.usage : undefined;
  }

  due(owner: string, now: number, periodMs: number): boolean {
    return now - (this.takenAt.get(owner) ?? -Infinity) >= periodMs;
  }

  taking(owner: string, now: number): void {
    this.takenAt.set(owner, now);
  }

  set(owner: string, containerId: string, usage: Usage): void {
    this.samples.set(owner, { containerId, usage });
  }

  forget(owner: string): void {
    this.samples.delete(owner);
    this.takenAt.delete(owner);
  }
}
