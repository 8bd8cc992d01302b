// Size caps on copied archives, and the error that says a cap was hit.

/** Default cap on one `berth cp` archive (the tar bytes, and separately the sum of its file sizes). */
export const DEFAULT_ARCHIVE_LIMIT_BYTES = 64 * 1024 * 1024;
/** Entries per archive: a bound on headers, which cost memory without counting as content. */
export const MAX_ARCHIVE_ENTRIES = 100_000;

export class ArchiveLimitError extends Error {
  override readonly name = 'ArchiveLimitError';
}

export class ArchiveEntryError extends Error {
  override readonly name = 'ArchiveEntryError';
}

export const mib = (n: number): string =>
  n < 1024 * 1024 ? `${n} bytes` : `${(n / (1024 * 1024)).toFixed(n % (1024 * 1024) === 0 ? 0 : 1)} MiB`;
