// Kubernetes-style quantities, normalised so that "512Mi" and "536870912" hash alike.

const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL: Record<string, number> = { k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };
const MEMORY = /^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/;

/** Bytes for a memory quantity ("512Mi", "1G", "536870912"), or undefined when invalid. */
export function parseMemory(input: string | number): number | undefined {
  if (typeof input === 'number') return Number.isSafeInteger(input) && input > 0 ? input : undefined;
  const match = MEMORY.exec(input.trim());
  if (!match) return undefined;
  const value = Number(match[1]);
  const unit = match[2];
  const factor = unit === undefined ? 1 : (BINARY[unit] ?? DECIMAL[unit] ?? NaN);
  const bytes = Math.round(value * factor);
  return Number.isSafeInteger(bytes) && bytes > 0 ? bytes : undefined;
}

const CPU = /^([0-9]+(?:\.[0-9]+)?)(m)?$/;

/** Nano-CPUs for a CPU quantity ("1.5", 2, "500m"), or undefined when invalid. */
export function parseCpus(input: string | number): number | undefined {
  const text = typeof input === 'number' ? String(input) : input.trim();
  const match = CPU.exec(text);
  if (!match) return undefined;
  const cores = Number(match[1]) / (match[2] ? 1000 : 1);
  const nano = Math.round(cores * 1e9);
  return nano > 0 && Number.isSafeInteger(nano) ? nano : undefined;
}

