// When a claim was made, to the millisecond, for waitDurationMs and FIFO
// order. A Kubernetes creationTimestamp has whole seconds only, so a warm
// claim bound in 3 ms read as up to 999 ms. In order: the annotation
// berth.dev/requested-at (epoch ms, set by berth's API when it creates the
// claim) when it falls in the creation second; the controller's first sight
// of the claim when that is within the creation second plus a moment (a claim
// seen live); else the timestamp itself (a claim older than this controller).

export const ANNOTATION_REQUESTED_AT = 'berth.dev/requested-at';

/** How long after its creation second a claim counts as seen live. */
const LIVE_MS = 2_000;

export function claimRequestedAt(metadata: { creationTimestamp: string; annotations?: Record<string, string> }, firstSeen: number): number {
  const stamped = Date.parse(metadata.creationTimestamp);
  if (Number.isNaN(stamped)) return firstSeen;
  const wholeSeconds = stamped % 1000 === 0;
  if (!wholeSeconds) return stamped; // already precise (the standalone store)
  const annotated = Number(metadata.annotations?.[ANNOTATION_REQUESTED_AT]);
  if (Number.isFinite(annotated) && annotated >= stamped && annotated < stamped + 1000) return annotated;
  if (firstSeen >= stamped && firstSeen < stamped + LIVE_MS) return Math.min(firstSeen, stamped + 999);
  return stamped;
}
