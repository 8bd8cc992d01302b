// Small JSON helpers shared by the test API server.

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function clone<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => deepEqual(x, b[i]));
  }
  if (Array.isArray(b)) return false;
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao).filter((k) => ao[k] !== undefined);
  const bk = Object.keys(bo).filter((k) => bo[k] !== undefined);
  if (ak.length !== bk.length) return false;
  return ak.every((k) => Object.prototype.hasOwnProperty.call(bo, k) && deepEqual(ao[k], bo[k]));
}

/** Child object at key, or undefined when absent / not an object. */
export function obj(parent: unknown, key: string): JsonObject | undefined {
  if (!isObject(parent)) return undefined;
  const v = parent[key];
  return isObject(v) ? v : undefined;
}

export function str(parent: unknown, key: string): string | undefined {
  if (!isObject(parent)) return undefined;
  const v = parent[key];
  return typeof v === 'string' ? v : undefined;
}

export function num(parent: unknown, key: string): number | undefined {
  if (!isObject(parent)) return undefined;
  const v = parent[key];
  return typeof v === 'number' ? v : undefined;
}

export function arr(parent: unknown, key: string): Json[] | undefined {
  if (!isObject(parent)) return undefined;
  const v = parent[key];
  return Array.isArray(v) ? v : undefined;
}

/** Ensures parent[key] is an object and returns it. */
export function ensureObj(parent: JsonObject, key: string): JsonObject {
  const v = parent[key];
  if (isObject(v)) return v;
  const fresh: JsonObject = {};
  parent[key] = fresh;
  return fresh;
}

/** The value at a dotted path ("spec.nodeName"), for field selectors. */
export function dig(o: unknown, path: string): Json | undefined {
  let cur: unknown = o;
  for (const part of path.split('.')) {
    if (!isObject(cur)) return undefined;
    cur = cur[part];
  }
  return cur as Json | undefined;
}
