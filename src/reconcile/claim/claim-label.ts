// The claim label of a Pod member (`berth.dev/claim=<claim name>`): Pods can
// be relabelled, so a bound Pod says which claim holds it, and a new leader
// can tell a member that was handed out from a warm one even when the claim
// that held it is gone. Docker members cannot be relabelled: their binding
// is read from the claims alone.
const MAX_LABEL_VALUE = 63;

/**
 * The label value for a claim name. Claim names are DNS subdomains (up to
 * 253 characters); a label value holds 63, so a longer name is cut and a
 * digest of the whole name keeps it unique.
 */
export function claimLabelValue(claimName: string): string {
  if (claimName.length <= MAX_LABEL_VALUE) return claimName;
  const digest = fnv1a(claimName);
  return `${claimName.slice(0, MAX_LABEL_VALUE - digest.length - 1).replace(/[^a-zA-Z0-9]+$/, '')}-${digest}`;
}

/**
 * A claim label that no claim backs: the member was bound (perhaps handed
 * out) by a claim the records no longer show Bound to it, so it is not warm
 * and goes through the pool's recycle policy. A member a claim holds is not
 * stale whatever its label says (the claims are the record), and one this
 * controller already recycled is clean (its label is being removed).
 */
export function claimLabelIsStale(label: string | undefined, holderClaimName: string | undefined, recycledAt: number | undefined): boolean {
  if (label === undefined || label === '') return false;
  if (holderClaimName !== undefined) return false;
  return recycledAt === undefined;
}

/** FNV-1a, 32 bits, as 8 hex digits: short, stable, and pure (no node:crypto in the rules). */
function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}
