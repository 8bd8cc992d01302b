// Loading specs: YAML files and directories -> validated resources, with every
// problem reported as a SpecError naming the file, line and field path.
//
// Bad input never throws and never blocks good input: each document is
// validated on its own, each file is read on its own, and the result carries
// both the resources that loaded and the errors of those that did not.
import { constants, type Dirent, type Stats } from 'node:fs';
import { open, readdir, realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { Composer, isAlias, isMap, isScalar, isSeq, Lexer, LineCounter, Parser, type Document, type Node as YamlNode } from 'yaml';
import type { z } from 'zod';
import { formatPath, SpecError } from './errors.js';
import { DEFAULT_POLICY, policyViolations, type ControllerPolicy } from './policy.js';
import { API_VERSION, KIND_NAMES, KINDS, keyString, keyOf, type Kind, templateOfInstance, type Resource } from './schema.js';
import { decodeUtf8 } from './utf8.js';

/** Largest spec file (or stdin text) accepted. */
export const MAX_SPEC_BYTES = 1024 * 1024;
/** Alias expansion limit handed to yaml's toJS (the "billion laughs" guard). */
export const MAX_ALIAS_COUNT = 100;
/**
 * Deepest YAML structure accepted (the parser's stack: document, collections,
 * pairs). Real specs stay under 20; without a bound, 1 MiB of "[[[[..." or
 * "- - - -..." exhausts the stack or the heap of the recursive steps after parsing.
 */
export const MAX_NESTING_DEPTH = 100;

export interface LoadOptions {
  /** What the controller allows (privileged, host network, bind mounts, capAdd); DEFAULT_POLICY if unset. */
  policy?: ControllerPolicy;
  maxBytes?: number;
  maxAliasCount?: number;
}

export interface LoadPathsOptions extends LoadOptions {
  /** Reads stdin when a path is "-"; without it, "-" is an error. The text is reported as file "<stdin>". */
  readStdin?: () => Promise<string>;
  /**
   * What each file parsed to, by path and stat (device, inode, size, mtime,
   * ctime): refreshed by every load that is given it; with `reuseParsed`, a
   * file whose stat is unchanged is not read or parsed again. The same options
   * (policy) must come with the same cache.
   */
  parseCache?: ParseCache;
  reuseParsed?: boolean;
}

export type ParseCache = Map<string, { stamp: string; parsed: unknown }>;

export interface LoadedResource {
  resource: Resource;
  /** The file as given (or as joined under a given directory). */
  file: string;
  /** 1-based line where the document's content starts. */
  line: number;
}

export interface LoadResult {
  resources: LoadedResource[];
  errors: SpecError[];
  /** The directories walked (as reached, links inside included): what a watcher should watch. */
  directories?: string[];
}

type Path = readonly PropertyKey[];
interface Position {
  line: number;
  column: number;
}
/** Where a field is: its key's line when present, else the line of the nearest enclosing field. */
type Locate = (path: Path) => Position | undefined;

/** Parses one text (a file's content or stdin) holding any number of YAML documents. */
export function parseSpecText(text: string, file: string, options: LoadOptions = {}): LoadResult {
  const result = parseDocuments(text, file, options);
  return markDuplicates([result]);
}

/**
 * Loads files and directories (walked recursively for *.yaml / *.yml, skipping
 * dot-files and dot-directories), in the order given, directories sorted by name.
 * A kind/namespace/name defined twice is an error on both documents, and neither is loaded.
 */
export async function loadSpecPaths(paths: string[], options: LoadPathsOptions = {}): Promise<LoadResult> {
  const maxBytes = options.maxBytes ?? MAX_SPEC_BYTES;
  const results: Parsed[] = [];
  const seen = new Set<string>();
  const directories: string[] = [];
  const fileError = (file: string, message: string, cause?: unknown): void => {
    results.push({ resources: [], errors: [new SpecError({ file }, message, { cause })] });
  };

  const cache = options.parseCache;
  const visited = new Set<string>();
  const loadFile = async (file: string, real: string, info: Stats): Promise<void> => {
    const cacheKey = `${file}\0${real}`;
    const stamp = `${info.dev}:${info.ino}:${info.size}:${info.mtimeMs}:${info.ctimeMs}`;
    visited.add(cacheKey);
    const hit = cache?.get(cacheKey);
    if (hit && options.reuseParsed && hit.stamp === stamp) {
      results.push(hit.parsed as Parsed);
      return;
    }
    const read = await readRegularFile(real, maxBytes);
    if ('error' in read) return fileError(file, read.error, read.cause);
    const text = decodeUtf8(read.bytes);
    if (typeof text !== 'string') {
      results.push({ resources: [], errors: [new SpecError({ file, line: text.line, column: text.column }, `not valid UTF-8 (byte 0x${text.byte.toString(16).padStart(2, '0')} at column ${text.column})`)] });
      return;
    }
    const parsed = parseDocuments(text, file, options);
    cache?.set(cacheKey, { stamp, parsed });
    results.push(parsed);
  };

  /**
   * `root` is the real path of the directory the user named: inside it, links
   * are followed only when they resolve inside it too (a ConfigMap volume's
   * ..data links, a checkout's relative links); a link out, and anything that
   * is not a regular file or directory, is an error and is never opened.
   */
  const visit = async (path: string, root: string | undefined, depth: number): Promise<void> => {
    let info;
    let real: string;
    try {
      real = await realpath(path);
      info = await stat(real);
    } catch (e) {
      return fileError(path, `cannot read: ${ioMessage(e)}`, e);
    }
    if (root !== undefined && real !== root && !real.startsWith(root.endsWith(sep) ? root : root + sep)) {
      return fileError(path, `links to ${real}, outside the spec directory ${root}: links out of the directory are not followed`);
    }
    // The same file or directory reached twice (a path given twice, a link inside the tree) loads once.
    if (seen.has(real)) return;
    seen.add(real);
    if (info.isDirectory()) {
      if (depth > MAX_DIRECTORY_DEPTH) return fileError(path, `directories nested too deeply (more than ${MAX_DIRECTORY_DEPTH} levels)`);
      directories.push(path);
      let entries: Dirent[];
      try {
        entries = (await readdir(path, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      } catch (e) {
        return fileError(path, `cannot read directory: ${ioMessage(e)}`, e);
      }
      for (const entry of entries) {
        if (entry.name.startsWith('.')) continue;
        const child = join(path, entry.name);
        const yamlName = /\.ya?ml$/i.test(entry.name);
        // Other files are skipped without a look; a link is looked at (it may be a directory).
        if (entry.isDirectory() || entry.isSymbolicLink() || yamlName) {
          if (entry.isSymbolicLink() && !yamlName) {
            const target = await stat(child).catch(() => undefined);
            if (!target?.isDirectory()) continue;
          }
          await visit(child, root ?? real, depth + 1);
        }
      }
      return;
    }
    if (!info.isFile()) return fileError(path, 'not a regular file or directory (devices, pipes and sockets are not read)');
    await loadFile(path, real, info);
  };

  for (const path of paths) {
    if (path === '-') {
      if (!options.readStdin) {
        fileError('<stdin>', 'reading specs from stdin ("-") is not supported here');
        continue;
      }
      try {
        results.push(parseDocuments(await options.readStdin(), '<stdin>', options));
      } catch (e) {
        fileError('<stdin>', `cannot read: ${ioMessage(e)}`, e);
      }
      continue;
    }
    // A path named explicitly loads whatever its extension; inside a directory only *.yaml / *.yml.
    await visit(path, undefined, 0);
  }
  if (cache) for (const k of cache.keys()) if (!visited.has(k)) cache.delete(k);
  return { ...markDuplicates(results), directories };
}

/** Directories below a spec directory deeper than this are an error (a link loop is caught by realpath first). */
export const MAX_DIRECTORY_DEPTH = 32;

/**
 * Opens, checks the open file is regular and within the limit (fstat, before
 * reading a byte), and reads at most limit + 1 bytes: a file that grows
 * meanwhile, or one that reports size 0 (/proc), is still bounded.
 */
async function readRegularFile(path: string, limit: number): Promise<{ bytes: Buffer } | { error: string; cause?: unknown }> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (e) {
    return { error: `cannot read: ${ioMessage(e)}`, cause: e };
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) return { error: 'not a regular file (devices, pipes and sockets are not read)' };
    if (info.size > limit) return { error: tooLarge(info.size, limit) };
    const buf = Buffer.alloc(Math.min(limit + 1, Math.max(info.size, 0) + 1));
    let filled = 0;
    while (filled < buf.length) {
      const { bytesRead } = await handle.read(buf, filled, buf.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    if (filled > limit) return { error: tooLarge(filled, limit) };
    // Grew past its fstat size: read on up to the limit.
    if (filled === buf.length) {
      const more = Buffer.alloc(limit + 1 - filled);
      const { bytesRead } = more.length > 0 ? await handle.read(more, 0, more.length, filled) : { bytesRead: 0 };
      if (filled + bytesRead > limit) return { error: `file is too large (more than ${limit} bytes; the limit is ${limit})` };
      return { bytes: Buffer.concat([buf.subarray(0, filled), more.subarray(0, bytesRead)]) };
    }
    return { bytes: buf.subarray(0, filled) };
  } catch (e) {
    return { error: `cannot read: ${ioMessage(e)}`, cause: e };
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/**
 * Validates one already-parsed object (an HTTP apply body, a Kubernetes object):
 * the same checks as a YAML document, with paths but no lines.
 */
export function validateResource(value: unknown, file: string, options: LoadOptions = {}): { resource?: Resource; errors: SpecError[] } {
  return validateValue(value, file, () => undefined, options.policy ?? DEFAULT_POLICY);
}

/**
 * Validates one minimal claim, so that the first claim a client sends does not
 * pay for zod building its parsers (4 ms for the first parse of the claim
 * schema here, 0.1 ms for the next). Returns what validation said: nothing,
 * while the warm-up claim stays valid.
 */
export function warmUpClaimValidation(policy: ControllerPolicy = DEFAULT_POLICY): SpecError[] {
  const claim = { apiVersion: API_VERSION, kind: 'InstanceClaim', metadata: { name: 'warm-up', namespace: 'default' }, spec: { poolRef: { name: 'warm-up' } } };
  return validateResource(claim, '<warm-up>', { policy }).errors;
}

// ---------------------------------------------------------------------------

interface Parsed {
  resources: (LoadedResource & { nameLine: number })[];
  errors: SpecError[];
}

function parseDocuments(text: string, file: string, options: LoadOptions): Parsed {
  const out: Parsed = { resources: [], errors: [] };
  const policy = options.policy ?? DEFAULT_POLICY;
  const read = readDocuments(text, file, options);
  out.errors.push(...read.errors);
  for (const { value, line, locate } of read.documents) {
    const { resource, errors } = validateValue(value, file, locate, policy);
    if (resource) out.resources.push({ resource, file, line, nameLine: locate(['metadata', 'name'])?.line ?? line });
    else out.errors.push(...errors);
  }
  return out;
}

/** A YAML document as a plain value, with the line it starts on. */
export interface YamlDocument {
  value: unknown;
  line: number;
}

/**
 * The YAML documents of a text as plain values, with every limit of the spec
 * loader (size, nesting depth, alias expansion, unique keys, string keys) but
 * no schema: for callers that validate on their own (an HTTP body). Empty
 * documents are skipped; a bad document is an error and the others still come back.
 */
export function readYamlDocuments(text: string, file: string, options: Omit<LoadOptions, 'policy'> = {}): { documents: YamlDocument[]; errors: SpecError[] } {
  const { documents, errors } = readDocuments(text, file, options);
  return { documents: documents.map(({ value, line }) => ({ value, line })), errors };
}

function readDocuments(text: string, file: string, options: LoadOptions): { documents: (YamlDocument & { locate: Locate })[]; errors: SpecError[] } {
  const out: { documents: (YamlDocument & { locate: Locate })[]; errors: SpecError[] } = { documents: [], errors: [] };
  const maxBytes = options.maxBytes ?? MAX_SPEC_BYTES;
  const size = Buffer.byteLength(text, 'utf8');
  if (size > maxBytes) {
    out.errors.push(new SpecError({ file }, tooLarge(size, maxBytes)));
    return out;
  }
  const lineCounter = new LineCounter();
  const at = (offset: number): Position => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };

  let docs: Document.Parsed[];
  try {
    docs = composeDocuments(text, lineCounter);
  } catch (e) {
    if (e instanceof NestingTooDeep) {
      out.errors.push(new SpecError({ file, ...at(e.offset) }, `structure nested too deeply (more than ${MAX_NESTING_DEPTH} levels)`));
    } else {
      // Nothing about bad input may escape as a throw.
      out.errors.push(new SpecError({ file }, `cannot parse YAML: ${errorMessage(e)}`, { cause: e }));
    }
    return out;
  }

  for (const doc of docs) {
    const start = doc.contents?.range[0] ?? doc.range[0];
    const err = doc.errors[0];
    if (err) {
      // The first syntax error only: the ones after it are mostly its echoes.
      out.errors.push(new SpecError({ file, ...at(err.pos[0]) }, yamlMessage(err.message), { cause: err }));
      continue;
    }
    if (doc.contents === null) continue; // empty document (only comments, or a stray ---)
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: options.maxAliasCount ?? MAX_ALIAS_COUNT });
    } catch (e) {
      const message =
        e instanceof ReferenceError && /alias/i.test(e.message)
          ? 'too many alias expansions (refused as a possible "billion laughs" attack)'
          : `cannot read YAML document: ${errorMessage(e)}`;
      out.errors.push(new SpecError({ file, ...at(start) }, message, { cause: e }));
      continue;
    }
    if (value === null || value === undefined) continue;
    const locate = (path: Path): Position => {
      const offset = locateOffset(doc, path);
      return at(offset ?? start);
    };
    out.documents.push({ value, line: at(start).line, locate });
  }
  return out;
}

class NestingTooDeep extends Error {
  constructor(readonly offset: number) {
    super('nesting too deep');
  }
}

/**
 * yaml's parseAllDocuments, with the parser's stack watched token by token: the
 * lexer and parser are iterative, so a too-deep input is refused before the
 * recursive composer, toJS and zod ever see it.
 */
function composeDocuments(text: string, lineCounter: LineCounter): Document.Parsed[] {
  const parser = new Parser(lineCounter.addNewLine);
  lineCounter.addNewLine(0);
  function* tokens() {
    for (const lexeme of new Lexer().lex(text)) {
      yield* parser.next(lexeme);
      if (parser.stack.length > MAX_NESTING_DEPTH) throw new NestingTooDeep(parser.offset);
    }
    yield* parser.end();
  }
  const composer = new Composer({ prettyErrors: false, uniqueKeys: true, strict: true, stringKeys: true });
  return [...composer.compose(tokens())];
}

function validateValue(value: unknown, file: string, locate: Locate, policy: ControllerPolicy): { resource?: Resource; errors: SpecError[] } {
  const errors: SpecError[] = [];
  const error = (path: Path, message: string, locatePath: Path = path): void => {
    errors.push(new SpecError({ file, ...locate(locatePath), path: formatPath(path) }, message));
  };

  if (!isPlainObject(value)) {
    error([], `expected a mapping with apiVersion, kind, metadata and spec, got ${describe(value)}`);
    return { errors };
  }
  const kind = value['kind'];
  const apiVersion = value['apiVersion'];
  const expectedKinds = KIND_NAMES.join(', ');
  if (kind === undefined) {
    error(['kind'], `required field is missing (one of ${expectedKinds})`, []);
    return { errors };
  }
  if (typeof kind !== 'string' || !Object.hasOwn(KINDS, kind)) {
    error(['kind'], `unknown kind ${describe(kind)} (expected one of ${expectedKinds})`);
    return { errors };
  }
  if (apiVersion !== API_VERSION) {
    if (apiVersion === undefined) error(['apiVersion'], `required field is missing (expected "${API_VERSION}")`, []);
    else error(['apiVersion'], `unsupported apiVersion ${describe(apiVersion)} for kind ${kind} (expected "${API_VERSION}")`);
  }

  const schema: z.ZodType<Resource> = KINDS[kind as Kind].schema;
  const parsed = schema.safeParse(value, { reportInput: true });
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      if (issue.path[0] === 'apiVersion' && apiVersion !== API_VERSION) continue; // reported above
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) error([...issue.path, key], 'unknown field');
        continue;
      }
      const missing = issue.code === 'invalid_type' && issue.input === undefined;
      // A missing field has no line of its own: locate() falls back to the enclosing field's key.
      error(issue.path, missing ? 'required field is missing' : issueMessage(issue));
    }
    return { errors };
  }
  if (errors.length > 0) return { errors };

  const resource = parsed.data;
  const template =
    resource.kind === 'Instance' ? { base: ['spec'], t: templateOfInstance(resource.spec) } : resource.kind === 'InstancePool' ? { base: ['spec', 'template'], t: resource.spec.template } : undefined;
  if (template) {
    for (const v of policyViolations(template.t, policy)) error([...template.base, ...v.path], v.message);
  }
  return errors.length > 0 ? { errors } : { resource, errors };
}

/**
 * Two documents with the same kind/namespace/name, across all results: both
 * are errors and neither is loaded. Letting the first win made a stray file
 * that sorts earlier (a copy, aaa-dup.yaml) silently take a running resource
 * over; now the resource keeps what it was (the file source keeps the last
 * valid spec of a file with errors) and every definition names the others.
 */
function markDuplicates(results: Parsed[]): LoadResult {
  const where = new Map<string, string[]>();
  for (const r of results) {
    for (const loaded of r.resources) {
      const id = keyString(keyOf(loaded.resource));
      where.set(id, [...(where.get(id) ?? []), `${loaded.file}:${loaded.line}`]);
    }
  }
  const out: LoadResult = { resources: [], errors: [] };
  for (const r of results) {
    const errors = [...r.errors];
    for (const { nameLine, ...loaded } of r.resources) {
      const key = keyOf(loaded.resource);
      const all = where.get(keyString(key)) ?? [];
      if (all.length > 1) {
        const self = `${loaded.file}:${loaded.line}`;
        const others = all.filter((w) => w !== self);
        errors.push(
          new SpecError(
            { file: loaded.file, line: nameLine, path: 'metadata.name' },
            `duplicate ${key.kind} "${key.namespace}/${key.name}": also defined at ${others.join(', ')}; neither is applied until one is removed`,
          ),
        );
        continue;
      }
      out.resources.push(loaded);
    }
    out.errors.push(...errors.sort((a, b) => (a.line ?? 0) - (b.line ?? 0)));
  }
  return out;
}

/**
 * The source offset for a field path: the key of the deepest map entry (or the
 * sequence item) that exists along it. So a present field points at its own
 * key, and a missing one at the key of the map that should hold it.
 */
function locateOffset(doc: Document.Parsed, path: Path): number | undefined {
  let node: unknown = doc.contents;
  let offset = rangeStart(node);
  for (const seg of path) {
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) break;
      offset = rangeStart(pair.key) ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg];
      if (item === undefined) break;
      offset = rangeStart(item) ?? offset;
      node = item;
    } else {
      break;
    }
  }
  return offset;
}

const rangeStart = (node: unknown): number | undefined => (node && typeof node === 'object' && 'range' in node ? (node as YamlNode).range?.[0] : undefined);

function issueMessage(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${issue.expected}, got ${describe(issue.input)}`;
    case 'invalid_union': {
      const expected = issue.errors.flatMap((branch) => branch.filter((i) => i.code === 'invalid_type' && i.path.length === 0).map((i) => (i as z.core.$ZodIssueInvalidType).expected));
      return expected.length > 0 ? `expected ${[...new Set(expected)].join(' or ')}, got ${describe(issue.input)}` : issue.message;
    }
    case 'invalid_value':
      return `invalid value ${describe(issue.input)} (expected ${issue.values.map((v) => JSON.stringify(v)).join(', ')})`;
    case 'too_small':
    case 'too_big':
      return `${issue.message.replace(/^Too (small|big): /, '')} (got ${describe(issue.input)})`;
    default:
      return issue.message;
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
  if (typeof v === 'undefined') return 'nothing';
  return `${typeof v} ${String(v)}`;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const tooLarge = (size: number, max: number): string => `file is too large (${size} bytes; the limit is ${max})`;

/** yaml's messages without a trailing position (we report the line ourselves). */
const yamlMessage = (message: string): string => (message.split('\n')[0] ?? message).replace(/ at line \d+, column \d+:?$/, '');

const errorMessage = (e: unknown): string => (e instanceof Error ? e.message : String(e));

function ioMessage(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return 'no such file or directory';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'ELOOP') return 'too many symbolic links';
  return errorMessage(e);
}
