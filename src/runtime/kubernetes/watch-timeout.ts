// How long one watch asks the apiserver to keep it open, for every watch berth
// opens (the informers of its custom resources and the Pod events watch).

/**
 * The server-side timeoutSeconds of one watch: 60-90 % of the stall timeout
 * (at most 300..600 s), so the apiserver ends an idle watch cleanly before the
 * watchdog would take it for stalled. A real apiserver may send no bookmark
 * for minutes on a quiet resource: with timeouts above the watchdog's, every
 * idle watch was restarted as "stalled", with a warning, every 90 s.
 */
export function idleWatchSeconds(stallTimeoutMs: number, random: () => number = Math.random): number {
  const r = random();
  return Math.max(1, Math.min(Math.floor(300 * (1 + r)), Math.floor((stallTimeoutMs / 1000) * (0.6 + 0.3 * r))));
}
