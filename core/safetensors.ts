/**
 * safetensors reader and writer (https://huggingface.co/docs/safetensors).
 *
 * Layout: 8 bytes little-endian header length n, n bytes of JSON, then raw little-endian data.
 * The JSON maps each tensor name to {dtype, shape, data_offsets: [begin, end]} (relative to the end
 * of the header) and may hold `__metadata__`, a map of strings.
 *
 * Every error names the file and, where one is at fault, the tensor.
 */
import { readFileSync, writeFileSync, renameSync, openSync, fsyncSync, closeSync, unlinkSync } from 'node:fs';

export type StDType = 'F32' | 'F64' | 'I64';
export type StData = Float32Array | Float64Array | BigInt64Array;

export interface StTensor {
  dtype: StDType;
  shape: number[];
  data: StData;
}

export interface SafetensorsFile {
  tensors: Map<string, StTensor>;
  metadata: Record<string, string>;
}

export class SafetensorsError extends Error {
  constructor(file: string, message: string, tensor?: string) {
    super(`${file}${tensor ? ` (tensor '${tensor}')` : ''}: ${message}`);
    this.name = 'SafetensorsError';
  }
}

/** Bytes per element of every safetensors dtype (the header is checked against these). */
export const ST_DTYPE_BYTES: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

export interface StHeaderEntry {
  dtype: string;
  shape: number[];
  /** Byte range of the tensor's data, relative to `dataStart`. */
  begin: number;
  end: number;
}

export interface StHeader {
  entries: [string, StHeaderEntry][];
  metadata: Record<string, string>;
  /** Offset of the data section in the file (8 + header length). */
  dataStart: number;
}

/**
 * The one safetensors header parser of the project (core/safetensors.ts, nn/weights.ts and
 * reid/train/checkpoint.ts all read through it): length, JSON, and for every tensor its dtype
 * (`dtypes`: the ones the caller can read), shape and byte range, checked against each other and
 * against the file's size. Every error names the file, and the tensor where one is at fault.
 */
export function readSafetensorsHeader(bytes: Uint8Array, file = '<buffer>', dtypes: readonly string[] = Object.keys(ST_DTYPE_BYTES)): StHeader {
  if (bytes.length < 8) throw new SafetensorsError(file, `truncated: ${bytes.length} bytes, expected at least 8`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  if (headerLen > bytes.length - 8) {
    throw new SafetensorsError(file, `truncated or corrupt: header says ${headerLen} bytes of JSON, file has ${bytes.length - 8} after the length`);
  }
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLen)));
  } catch (e) {
    throw new SafetensorsError(file, `corrupt JSON header: ${(e as Error).message}`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) {
    throw new SafetensorsError(file, 'corrupt header: not a JSON object');
  }
  const dataStart = 8 + headerLen;
  const dataLen = bytes.length - dataStart;
  const entries: [string, StHeaderEntry][] = [];
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      const m = entry ?? {};
      if (typeof m !== 'object' || Array.isArray(m) || !Object.values(m).every((v) => typeof v === 'string')) {
        throw new SafetensorsError(file, 'corrupt header: __metadata__ must map names to strings');
      }
      metadata = m as Record<string, string>;
      continue;
    }
    const { dtype, shape, data_offsets } = (entry ?? {}) as { dtype?: string; shape?: number[]; data_offsets?: number[] };
    if (typeof dtype !== 'string' || !dtypes.includes(dtype) || !(dtype in ST_DTYPE_BYTES)) {
      throw new SafetensorsError(file, `unsupported dtype ${JSON.stringify(dtype)} (supported: ${dtypes.join(', ')})`, name);
    }
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new SafetensorsError(file, `invalid shape ${JSON.stringify(shape)}`, name);
    }
    if (!Array.isArray(data_offsets) || data_offsets.length !== 2 || !data_offsets.every((o) => Number.isInteger(o))) {
      throw new SafetensorsError(file, `invalid data_offsets ${JSON.stringify(data_offsets)}`, name);
    }
    const [begin, end] = data_offsets;
    const count = shape.reduce((a, b) => a * b, 1);
    const want = count * ST_DTYPE_BYTES[dtype];
    if (end - begin !== want) {
      throw new SafetensorsError(file, `shape [${shape}] of ${dtype} needs ${want} bytes but data_offsets [${begin}, ${end}] span ${end - begin}`, name);
    }
    if (begin < 0 || end > dataLen) {
      throw new SafetensorsError(file, `truncated: data_offsets [${begin}, ${end}] run past the ${dataLen} data bytes in the file`, name);
    }
    entries.push([name, { dtype, shape: [...shape], begin, end }]);
  }
  return { entries, metadata, dataStart };
}

/** Parse a safetensors byte buffer (F32, F64, I64); `file` is only used to name the source in errors. */
export function parseSafetensors(bytes: Uint8Array, file = '<buffer>'): SafetensorsFile {
  const { entries, metadata, dataStart } = readSafetensorsHeader(bytes, file, ['F32', 'F64', 'I64']);
  const tensors = new Map<string, StTensor>();
  for (const [name, { dtype, shape, begin, end }] of entries) {
    // Copy into an aligned buffer (the data section need not be 8-byte aligned).
    // (Uint8Array.from, not .slice: a Node Buffer's slice is a view of the shared pool.)
    const raw = Uint8Array.from(bytes.subarray(dataStart + begin, dataStart + end));
    const data = dtype === 'F32' ? new Float32Array(raw.buffer) : dtype === 'F64' ? new Float64Array(raw.buffer) : new BigInt64Array(raw.buffer);
    tensors.set(name, { dtype: dtype as StDType, shape, data });
  }
  return { tensors, metadata };
}

export function readSafetensors(path: string): SafetensorsFile {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new SafetensorsError(path, `cannot read: ${(e as Error).message}`);
  }
  return parseSafetensors(bytes, path);
}

/** Serialise tensors (in the given order) and string metadata to safetensors bytes. */
export function encodeSafetensors(tensors: Iterable<[string, StTensor]>, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of tensors) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (t.data.length !== count) {
      throw new SafetensorsError('<write>', `shape [${t.shape}] holds ${count} values but data has ${t.data.length}`, name);
    }
    const part = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + part.length] };
    parts.push(part);
    offset += part.length;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so the data section starts 8-byte aligned (allowed by the format).
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const jsonBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + jsonBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(jsonBytes.length), true);
  out.set(jsonBytes, 8);
  let at = 8 + jsonBytes.length;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Write atomically: a temporary file in the same folder, fsync, then rename over the target. */
export function writeSafetensors(path: string, tensors: Iterable<[string, StTensor]>, metadata: Record<string, string> = {}): void {
  const bytes = encodeSafetensors(tensors, metadata);
  writeFileAtomic(path, bytes);
}

/** The temporary files writeFileAtomic leaves behind when a process is killed mid-write (`<name>.tmp-<pid>`). */
export const ATOMIC_TEMPORARY = /\.tmp-\d+$/;

export function writeFileAtomic(path: string, bytes: Uint8Array | string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, bytes);
    const fd = openSync(tmp, 'r+');
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, path);
  } catch (e) {
    try { unlinkSync(tmp); } catch { /* already gone */ }
    throw e;
  }
}

/** Read a tensor's values as plain float64 numbers (I64 converted exactly when |v| < 2^53). */
export function toFloat64(t: StTensor): Float64Array {
  if (t.data instanceof Float64Array) return t.data;
  const out = new Float64Array(t.data.length);
  for (let i = 0; i < out.length; i++) out[i] = Number(t.data[i]);
  return out;
}
