// The three patch formats the API server accepts on JSON bodies:
// RFC 7386 merge patch, RFC 6902 JSON patch, and strategic merge patch (for
// built-in types, driven by a table of patch merge keys).
import { apiError, badRequest } from './errors.js';
import { clone, deepEqual, isObject, type Json, type JsonObject } from './json.js';

/** RFC 7386. */
export function mergePatch(target: Json | undefined, patch: Json): Json {
  if (!isObject(patch)) return clone(patch);
  const result: JsonObject = isObject(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete result[k];
    else result[k] = mergePatch(result[k], v);
  }
  return result;
}

// ---- RFC 6902 ----

/** 422 from a patch that does not apply (the server's NewGenericServerResponse(422)). */
const applyError = (message: string) => apiError(422, 'Invalid', message);

function decodePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw badRequest(`invalid JSON pointer "${pointer}"`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function arrayIndex(token: string, length: number, forAdd: boolean): number {
  if (forAdd && token === '-') return length;
  if (!/^(0|[1-9][0-9]*)$/.test(token)) throw applyError(`Unable to access invalid index: ${token}`);
  const i = Number(token);
  if (forAdd ? i > length : i >= length) throw applyError(`Unable to access invalid index: ${i}`);
  return i;
}

function parentOf(doc: Json, tokens: string[], path: string): Json {
  let cur: Json = doc;
  for (const t of tokens.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[arrayIndex(t, cur.length, false)]!;
    else if (isObject(cur) && Object.prototype.hasOwnProperty.call(cur, t)) cur = cur[t]!;
    else throw applyError(`doc is missing path: "${path}": missing value`);
  }
  return cur;
}

function getAt(doc: Json, path: string): Json {
  const tokens = decodePointer(path);
  if (tokens.length === 0) return doc;
  const parent = parentOf(doc, tokens, path);
  const last = tokens[tokens.length - 1]!;
  if (Array.isArray(parent)) return parent[arrayIndex(last, parent.length, false)]!;
  if (isObject(parent) && Object.prototype.hasOwnProperty.call(parent, last)) return parent[last]!;
  throw applyError(`doc is missing path: "${path}": missing value`);
}

function removeAt(doc: Json, path: string): Json {
  const tokens = decodePointer(path);
  if (tokens.length === 0) throw applyError('unable to remove the document root');
  const parent = parentOf(doc, tokens, path);
  const last = tokens[tokens.length - 1]!;
  if (Array.isArray(parent)) {
    const i = arrayIndex(last, parent.length, false);
    return parent.splice(i, 1)[0]!;
  }
  if (isObject(parent) && Object.prototype.hasOwnProperty.call(parent, last)) {
    const v = parent[last]!;
    delete parent[last];
    return v;
  }
  throw applyError(`Unable to remove nonexistent key: ${last}: missing value`);
}

function addAt(doc: Json, path: string, value: Json, replace: boolean): Json {
  const tokens = decodePointer(path);
  if (tokens.length === 0) return value;
  const parent = parentOf(doc, tokens, path);
  const last = tokens[tokens.length - 1]!;
  if (Array.isArray(parent)) {
    if (replace) parent[arrayIndex(last, parent.length, false)] = value;
    else parent.splice(arrayIndex(last, parent.length, true), 0, value);
  } else if (isObject(parent)) {
    if (replace && !Object.prototype.hasOwnProperty.call(parent, last)) throw applyError(`replace operation does not apply: doc is missing key: ${path}: missing value`);
    parent[last] = value;
  } else {
    throw applyError(`doc is missing path: "${path}": missing value`);
  }
  return doc;
}

export function jsonPatch(doc: Json, patch: Json): Json {
  if (!Array.isArray(patch)) throw badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  let cur = clone(doc);
  for (const op of patch) {
    if (!isObject(op) || typeof op['op'] !== 'string') throw badRequest('invalid JSON patch operation');
    const path = op['path'];
    if (typeof path !== 'string') throw badRequest(`invalid JSON patch: missing path in ${JSON.stringify(op)}`);
    const from = typeof op['from'] === 'string' ? op['from'] : undefined;
    switch (op['op']) {
      case 'add':
        if (!('value' in op)) throw badRequest('invalid JSON patch: add operation requires a value');
        cur = addAt(cur, path, clone(op['value']!), false);
        break;
      case 'replace':
        if (!('value' in op)) throw badRequest('invalid JSON patch: replace operation requires a value');
        cur = addAt(cur, path, clone(op['value']!), true);
        break;
      case 'remove':
        removeAt(cur, path);
        break;
      case 'move': {
        if (from === undefined) throw badRequest('invalid JSON patch: move operation requires from');
        const v = removeAt(cur, from);
        cur = addAt(cur, path, v, false);
        break;
      }
      case 'copy': {
        if (from === undefined) throw badRequest('invalid JSON patch: copy operation requires from');
        cur = addAt(cur, path, clone(getAt(cur, from)), false);
        break;
      }
      case 'test': {
        const actual = getAt(cur, path);
        if (!deepEqual(actual, op['value'])) throw applyError(`testing value ${path} failed: test failed`);
        break;
      }
      default:
        throw badRequest(`Unexpected kind: ${String(op['op'])}`);
    }
  }
  return cur;
}

// ---- strategic merge patch ----

/** How a list field merges: by a key of its elements, or as a set of primitives. */
export type MergeSpec = { key: string } | { primitive: true };

/** Paths are field names joined by '.', array levels not counted: "spec.containers.env". */
export type MergeKeys = Readonly<Record<string, MergeSpec>>;

function stripDirectives(v: Json): Json {
  if (Array.isArray(v)) return v.map(stripDirectives);
  if (!isObject(v)) return v;
  const out: JsonObject = {};
  for (const [k, x] of Object.entries(v)) {
    if (k.startsWith('$')) continue;
    out[k] = stripDirectives(x);
  }
  return out;
}

function smpList(target: Json[] | undefined, patch: Json[], path: string, keys: MergeKeys): Json[] {
  const spec = keys[path];
  // {"$patch": "replace"} as an element replaces the whole list.
  if (patch.some((p) => isObject(p) && p['$patch'] === 'replace')) {
    return patch.filter((p) => !(isObject(p) && p['$patch'] === 'replace')).map(stripDirectives);
  }
  if (!spec) return patch.map(stripDirectives);
  const result = clone(target ?? []);
  if ('primitive' in spec) {
    for (const p of patch) if (!result.some((x) => deepEqual(x, p))) result.push(clone(p));
    return result;
  }
  for (const p of patch) {
    if (!isObject(p)) throw badRequest(`strategic merge patch: element of ${path} is not an object`);
    const keyValue = p[spec.key];
    const idx = result.findIndex((x) => isObject(x) && deepEqual(x[spec.key], keyValue));
    if (p['$patch'] === 'delete') {
      if (idx >= 0) result.splice(idx, 1);
      continue;
    }
    if (idx >= 0) result[idx] = smpMap(result[idx] as JsonObject, p, path, keys);
    else result.push(stripDirectives(p));
  }
  return result;
}

function smpMap(target: JsonObject | undefined, patch: JsonObject, path: string, keys: MergeKeys): JsonObject {
  if (patch['$patch'] === 'replace') return stripDirectives(patch) as JsonObject;
  const result: JsonObject = isObject(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const field = k.slice('$deleteFromPrimitiveList/'.length);
      const list = result[field];
      if (Array.isArray(list) && Array.isArray(v)) result[field] = list.filter((x) => !v.some((d) => deepEqual(d, x)));
      continue;
    }
    if (k.startsWith('$')) continue; // $setElementOrder/..., $retainKeys, $patch: ordering hints only here
    const childPath = path ? `${path}.${k}` : k;
    if (v === null) delete result[k];
    else if (isObject(v)) {
      if (v['$patch'] === 'delete') delete result[k];
      else result[k] = smpMap(isObject(result[k]) ? (result[k] as JsonObject) : undefined, v, childPath, keys);
    } else if (Array.isArray(v)) {
      const cur = result[k];
      result[k] = smpList(Array.isArray(cur) ? cur : undefined, v, childPath, keys);
    } else result[k] = v;
  }
  const retain = patch['$retainKeys'];
  if (Array.isArray(retain)) {
    for (const k of Object.keys(result)) if (!retain.includes(k) && !(k in patch)) delete result[k];
  }
  return result;
}

export function strategicMergePatch(target: JsonObject, patch: Json, keys: MergeKeys): JsonObject {
  if (!isObject(patch)) throw badRequest('strategic merge patch: the patch must be a JSON object');
  return smpMap(target, patch, '', keys);
}

/** Merge keys every built-in type has in its ObjectMeta. */
export const META_MERGE_KEYS: MergeKeys = {
  'metadata.finalizers': { primitive: true },
  'metadata.ownerReferences': { key: 'uid' },
};
