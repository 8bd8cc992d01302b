// The JSON merge patch (RFC 7386) that turns one JSON value into another:
// objects are patched key by key (a key that went away becomes null), arrays
// and scalars are replaced whole. Pure; the status writer sends its result.
import { isDeepStrictEqual } from 'node:util';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

// Keys are data: `__proto__` or `constructor` in a spec is a key like any other,
// never the prototype (an assignment would set it, a lookup would find Object's).
const own = (o: Record<string, unknown>, key: string): unknown => (Object.hasOwn(o, key) ? o[key] : undefined);
const setOwn = (o: Record<string, unknown>, key: string, value: unknown): void => {
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
};

/** The patch from `from` to `to`, or undefined when they are equal (nothing to send). */
export function mergePatchBetween(from: unknown, to: unknown): Json | undefined {
  if (isObject(from) && isObject(to)) {
    const patch: Record<string, Json> = {};
    for (const key of Object.keys(from)) {
      if (from[key] !== undefined && own(to, key) === undefined) setOwn(patch, key, null);
    }
    for (const [key, value] of Object.entries(to)) {
      if (value === undefined) continue;
      const sub = mergePatchBetween(own(from, key), value);
      if (sub !== undefined) setOwn(patch, key, sub);
    }
    return Object.keys(patch).length ? patch : undefined;
  }
  if (isDeepStrictEqual(from, to)) return undefined;
  return (to === undefined ? null : JSON.parse(JSON.stringify(to))) as Json;
}

/** Applies a merge patch (RFC 7386), for tests and for keeping a local view in step. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else setOwn(out, key, applyMergePatch(own(out, key), value));
  }
  return out;
}
