// JSON.parse keeps the last of two equal keys in an object, silently: a body
// `{"metadata":{"name":"a","name":"b"}}` would create "b". YAML bodies are
// refused for that (the yaml parser's uniqueKeys); JSON bodies must be too.
// One pass over text that JSON.parse has already accepted, so it is valid
// JSON: only strings, brackets, colons and commas need reading. (The yaml
// parser's uniqueKeys would find them too, at 53 us a claim body against
// 0.9 us here, on the path of every warm claim.)

export interface DuplicateKey {
  /** The key, decoded. */
  key: string;
  /** 1-based line of its second occurrence. */
  line: number;
  /** Dotted path of the object holding it ('' for the top). */
  path: string;
}

interface Frame {
  /** undefined: an array. */
  keys: Set<string> | undefined;
  /** The key of this value in its parent object (for the path). */
  name: string;
  expectKey: boolean;
}

/** The first key that occurs twice in one object of `text` (valid JSON), or undefined. */
export function duplicateJsonKey(text: string): DuplicateKey | undefined {
  const stack: Frame[] = [];
  let lastKey = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 0x22 /* " */) {
      const start = i;
      let escaped = false;
      for (i++; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (c === 0x5c /* \ */) {
          escaped = true;
          i++;
        } else if (c === 0x22) break;
      }
      const top = stack[stack.length - 1];
      if (top?.keys && top.expectKey) {
        const raw = text.slice(start + 1, i);
        const key = escaped ? (JSON.parse(text.slice(start, i + 1)) as string) : raw;
        if (top.keys.has(key)) return { key, line: lineAt(text, start), path: pathOf(stack) };
        top.keys.add(key);
        top.expectKey = false;
        lastKey = key;
      }
    } else if (ch === 0x7b /* { */ || ch === 0x5b /* [ */) {
      const parent = stack[stack.length - 1];
      const name = parent === undefined ? '' : parent.keys ? lastKey : '[]';
      stack.push(ch === 0x7b ? { keys: new Set(), name, expectKey: true } : { keys: undefined, name, expectKey: false });
    } else if (ch === 0x7d /* } */ || ch === 0x5d /* ] */) {
      stack.pop();
    } else if (ch === 0x2c /* , */) {
      const top = stack[stack.length - 1];
      if (top?.keys) top.expectKey = true;
    }
  }
  return undefined;
}

function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i++) if (text.charCodeAt(i) === 0x0a) line++;
  return line;
}

function pathOf(stack: Frame[]): string {
  let path = '';
  for (const f of stack.slice(1)) path += f.name === '[]' ? '[]' : path ? `.${f.name}` : f.name;
  return path;
}
