// metav1.Time (RFC 3339, seconds) and metav1.MicroTime (exactly six fraction
// digits on input, as Go's time.Parse with RFC3339Micro demands).
import { badRequest } from './errors.js';
import { isObject, type Json, type JsonObject } from './json.js';

/** Now as metav1.Time serializes it: "2024-05-01T12:00:00Z". */
export function timeNow(offsetMs = 0): string {
  return formatTime(new Date(Date.now() + offsetMs));
}

export function formatTime(d: Date): string {
  return d.toISOString().replace(/\.\d+Z$/, 'Z');
}

export function formatMicroTime(d: Date, micros = 0): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, (_, ms: string) => `.${ms}${String(micros).padStart(3, '0')}Z`);
}

const RFC3339 = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const RFC3339_MICRO = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\.(\d{6})(Z|[+-]\d{2}:\d{2})$/;

/** Normalizes a metav1.Time field in place (UTC, seconds); 400 if unparsable. */
export function normalizeTime(parent: unknown, key: string, kind: string, version: string): void {
  if (!isObject(parent)) return;
  const v = parent[key];
  if (v === undefined || v === null) return;
  if (typeof v !== 'string' || !RFC3339.test(v) || Number.isNaN(Date.parse(v))) {
    throw badRequest(`${kind} in version "${version}" cannot be handled as a ${kind}: parsing time ${JSON.stringify(JSON.stringify(v))} as "\\"2006-01-02T15:04:05Z07:00\\"": cannot parse`);
  }
  parent[key] = formatTime(new Date(v));
}

/** Normalizes a metav1.MicroTime field in place; 400 unless it has exactly 6 fraction digits. */
export function normalizeMicroTime(parent: unknown, key: string, kind: string, version: string): void {
  if (!isObject(parent)) return;
  const v: Json | undefined = parent[key];
  if (v === undefined || v === null) return;
  const m = typeof v === 'string' ? v.match(RFC3339_MICRO) : null;
  if (!m || Number.isNaN(Date.parse(v as string))) {
    throw badRequest(
      `${kind} in version "${version}" cannot be handled as a ${kind}: parsing time ${JSON.stringify(String(v))} as "2006-01-02T15:04:05.000000Z07:00": cannot parse as RFC3339Micro (exactly six fraction digits are required; client-node serializes V1MicroTime, not Date, that way)`,
    );
  }
  const micros = Number(m[2]!.slice(3));
  (parent as JsonObject)[key] = formatMicroTime(new Date(v as string), micros);
}
