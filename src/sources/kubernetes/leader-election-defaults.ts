// controller-runtime's leader election timings, apart from the elector so the
// CLI can show them without loading @kubernetes/client-node.
export const LEADER_ELECTION_DEFAULTS = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 } as const;
