// Strict UTF-8: a spec or a request body with invalid bytes is an error at a
// line and column, never text with U+FFFD silently in a value.

export interface InvalidUtf8 {
  line: number;
  column: number;
  byte: number;
}

const strict = new TextDecoder('utf-8', { fatal: true });

/** The text, or where its first invalid byte is. A leading BOM is dropped, as editors write one. */
export function decodeUtf8(bytes: Uint8Array): string | InvalidUtf8 {
  try {
    return strict.decode(bytes);
  } catch {
    return invalidUtf8At(bytes);
  }
}

function invalidUtf8At(bytes: Uint8Array): InvalidUtf8 {
  let line = 1;
  let lineStart = 0;
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    const n = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    let ok = n > 0 && i + n <= bytes.length;
    for (let k = 1; ok && k < n; k++) ok = (bytes[i + k]! & 0xc0) === 0x80;
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF.
    if (ok && n === 3) ok = !(b === 0xe0 && bytes[i + 1]! < 0xa0) && !(b === 0xed && bytes[i + 1]! > 0x9f);
    if (ok && n === 4) ok = !(b === 0xf0 && bytes[i + 1]! < 0x90) && !(b === 0xf4 && bytes[i + 1]! > 0x8f);
    if (!ok) return { line, column: i - lineStart + 1, byte: b };
    if (b === 0x0a) {
      line++;
      lineStart = i + 1;
    }
    i += n;
  }
  return { line, column: i - lineStart + 1, byte: 0 };
}
