// What clients saw of their claims, and the one check that matters most:
// was a member ever handed to a client while another still held it?

/** One client's hold of a member: from sending the claim until it asked for the release. */
export interface Hold {
  claim: string;
  containerId: string;
  sentAt: number;
  boundAt: number;
  releaseSentAt: number;
}

/**
 * Claims bound to a member while another client held it: the later claim's
 * whole request (sent after the other was bound, answered before the other
 * asked for its release) fell inside the other's hold. Definite from the
 * clients' clocks alone, whatever the server's timing.
 */
export function heldTwice(holds: readonly Hold[]): string[] {
  const problems: string[] = [];
  for (const a of holds) {
    for (const b of holds) {
      if (a !== b && a.containerId === b.containerId && b.sentAt > a.boundAt && b.boundAt < a.releaseSentAt) problems.push(`${b.claim} was bound to ${a.containerId.slice(0, 12)} while ${a.claim} held it`);
    }
  }
  return problems;
}
