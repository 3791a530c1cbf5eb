/**
 * Pretrained weights by key: reads a state dict from
 *   - safetensors (F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL),
 *   - PyTorch's `torch.save` zip format (PyTorch ≥ 1.6: `<archive>/data.pkl` + `<archive>/data/<key>`),
 *   - PyTorch's legacy format (`_use_new_zipfile_serialization=False`: magic, protocol, sys_info
 *     pickles, the state-dict pickle, the storage-key list, then each storage as int64 count + bytes),
 * and copies it into a model by name (`loadPretrained`), reporting every key it could not use.
 * Nothing is downloaded: the user points at a file (README: "Pretrained weights").
 *
 * Storage dtypes map to float (Float32Array or Float64Array); integer tensors such as
 * `num_batches_tracked` come through as numbers. Non-contiguous tensors are gathered by stride.
 */
import { readFileSync } from 'node:fs';
import { ShapeError } from '../core/tensor.ts';
import type { Module, StateValue } from './module.ts';
import { isZip, readZip } from './pickle/zip.ts';
import { readSafetensorsHeader } from '../core/safetensors.ts';
import { PyGlobal, unpickle } from './pickle/unpickler.ts';

export interface LoadedTensor extends StateValue {
  data: Float32Array | Float64Array;
  shape: number[];
  /** The dtype in the file (e.g. 'F32', 'float16', 'int64'). */
  sourceDtype: string;
}

type Decoder = { bytes: number; read: (v: DataView, o: number) => number; name: string };
const f16 = (h: number) => {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
};
const bf16Buf = new DataView(new ArrayBuffer(4));
const DECODERS: Record<string, Decoder> = {
  F64: { bytes: 8, read: (v, o) => v.getFloat64(o, true), name: 'float64' },
  F32: { bytes: 4, read: (v, o) => v.getFloat32(o, true), name: 'float32' },
  F16: { bytes: 2, read: (v, o) => f16(v.getUint16(o, true)), name: 'float16' },
  BF16: { bytes: 2, read: (v, o) => { bf16Buf.setUint32(0, v.getUint16(o, true) << 16, true); return bf16Buf.getFloat32(0, true); }, name: 'bfloat16' },
  I64: { bytes: 8, read: (v, o) => Number(v.getBigInt64(o, true)), name: 'int64' },
  I32: { bytes: 4, read: (v, o) => v.getInt32(o, true), name: 'int32' },
  I16: { bytes: 2, read: (v, o) => v.getInt16(o, true), name: 'int16' },
  I8: { bytes: 1, read: (v, o) => v.getInt8(o), name: 'int8' },
  U8: { bytes: 1, read: (v, o) => v.getUint8(o), name: 'uint8' },
  BOOL: { bytes: 1, read: (v, o) => v.getUint8(o), name: 'bool' },
};
/** torch storage classes (as pickled) → decoder. */
const STORAGE_DTYPES: Record<string, string> = {
  DoubleStorage: 'F64', FloatStorage: 'F32', HalfStorage: 'F16', BFloat16Storage: 'BF16', LongStorage: 'I64',
  IntStorage: 'I32', ShortStorage: 'I16', CharStorage: 'I8', ByteStorage: 'U8', BoolStorage: 'BOOL',
};

export interface ReadOptions {
  dtype?: 'float32' | 'float64';
}

/** Read every tensor of a weights file, by name, in file order. */
export function readStateDict(path: string, opts: ReadOptions = {}): Map<string, LoadedTensor> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new Error(`weights: cannot read '${path}': ${(e as Error).message}`);
  }
  return parseStateDict(bytes, path, opts);
}

export class WeightsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WeightsError';
  }
}

export function parseStateDict(bytes: Uint8Array, file: string, opts: ReadOptions = {}): Map<string, LoadedTensor> {
  const kind = isZip(bytes) ? 'torch.save zip' : bytes[0] === 0x80 ? 'legacy torch.save' : bytes.length >= 9 && bytes[8] === 0x7b ? 'safetensors' : null;
  if (!kind) throw new WeightsError(`weights: '${file}' is neither safetensors, a torch.save zip, nor a legacy torch.save file`);
  try {
    if (kind === 'torch.save zip') return readTorchZip(bytes, file, opts);
    if (kind === 'legacy torch.save') return readTorchLegacy(bytes, file, opts);
    return readSafetensorsAny(bytes, file, opts);
  } catch (e) {
    const msg = (e as Error).message ?? String(e);
    // our own errors name the file (and the tensor); a low-level one (a read past the end of the
    // bytes, e.g. RangeError "Offset is outside the bounds of the DataView") gets the file named here
    if (msg.includes(file)) throw e;
    throw new WeightsError(`weights: '${file}' (${kind}) is truncated or corrupt: ${msg}`);
  }
}

function materialise(bytes: Uint8Array, dt: string, offset: number, shape: number[], stride: number[] | null, opts: ReadOptions, where: string): LoadedTensor {
  const dec = DECODERS[dt];
  if (!dec) throw new Error(`weights: ${where} has dtype ${dt}, which is not supported`);
  const n = shape.reduce((a, b) => a * b, 1);
  const out = opts.dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const contiguousStride = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const st = stride ?? contiguousStride;
  const isContig = shape.every((d, i) => d === 1 || st[i] === contiguousStride[i]);
  let maxEl = offset;
  for (let i = 0; i < shape.length; i++) if (shape[i] > 0) maxEl += (shape[i] - 1) * st[i];
  if (n > 0 && (maxEl + 1) * dec.bytes > bytes.length) throw new Error(`weights: ${where} reaches past the end of its storage`);
  if (isContig) {
    for (let i = 0; i < n; i++) out[i] = dec.read(view, (offset + i) * dec.bytes);
  } else {
    const idx = new Array<number>(shape.length).fill(0);
    for (let i = 0; i < n; i++) {
      let el = offset;
      for (let a = 0; a < shape.length; a++) el += idx[a] * st[a];
      out[i] = dec.read(view, el * dec.bytes);
      for (let a = shape.length - 1; a >= 0; a--) { if (++idx[a] < shape[a]) break; idx[a] = 0; }
    }
  }
  return { data: out, shape, sourceDtype: dec.name };
}

function readSafetensorsAny(bytes: Uint8Array, file: string, opts: ReadOptions): Map<string, LoadedTensor> {
  const { entries, dataStart } = readSafetensorsHeader(bytes, file, Object.keys(DECODERS));
  const body = bytes.subarray(dataStart);
  const out = new Map<string, LoadedTensor>();
  for (const [name, t] of entries) out.set(name, materialise(body.subarray(t.begin, t.end), t.dtype, 0, t.shape, null, opts, `'${file}' tensor '${name}'`));
  return out;
}

/** A storage reference from a persistent id, resolved to its bytes once all are known. */
interface StorageRef { kind: 'storage'; dtype: string; key: string }
interface TensorRef { kind: 'tensor'; storage: StorageRef; offset: number; shape: number[]; stride: number[] }

function storageRef(pid: unknown, file: string): StorageRef {
  if (!Array.isArray(pid) || pid[0] !== 'storage') throw new Error(`weights: '${file}': unknown persistent id ${JSON.stringify(pid)}`);
  const type = pid[1];
  const typeName = type instanceof PyGlobal ? type.name : String(type);
  const dtype = STORAGE_DTYPES[typeName];
  if (!dtype) throw new Error(`weights: '${file}': storage type ${typeName} is not supported`);
  return { kind: 'storage', dtype, key: String(pid[2]) };
}

const torchHooks = (file: string) => ({
  persistentLoad: (pid: unknown) => storageRef(pid, file),
  reduce(fn: PyGlobal, args: unknown[]): unknown {
    // torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
    if (fn.qualified === 'torch._utils._rebuild_tensor_v2' || fn.qualified === 'torch._utils._rebuild_tensor') {
      const [storage, offset, size, stride] = args as [StorageRef, number, number[], number[]];
      return { kind: 'tensor', storage, offset, shape: [...size], stride: [...stride] } satisfies TensorRef;
    }
    // torch._utils._rebuild_parameter(data, requires_grad, backward_hooks): the tensor itself
    if (fn.qualified.startsWith('torch._utils._rebuild_parameter')) return args[0];
    return undefined;
  },
});

/** Walk the unpickled object and collect name → TensorRef (a state dict, or {'state_dict': ...}). */
function collectTensors(root: unknown, file: string): Map<string, TensorRef> {
  let dict = root;
  if (dict instanceof Map && !([...dict.values()].some(isTensorRef)) && dict.has('state_dict')) dict = dict.get('state_dict');
  if (!(dict instanceof Map)) throw new Error(`weights: '${file}' does not hold a state dict (a dict of tensors)`);
  const out = new Map<string, TensorRef>();
  for (const [k, v] of dict) if (isTensorRef(v)) out.set(String(k).replace(/^module\./, ''), v);
  if (out.size === 0) throw new Error(`weights: '${file}' holds a dict without tensors`);
  return out;
}

function isTensorRef(v: unknown): v is TensorRef {
  return typeof v === 'object' && v !== null && (v as TensorRef).kind === 'tensor';
}

function readTorchZip(bytes: Uint8Array, file: string, opts: ReadOptions): Map<string, LoadedTensor> {
  const zip = readZip(bytes, file);
  const pkl = [...zip.keys()].find((n) => n.endsWith('data.pkl'));
  if (!pkl) throw new Error(`weights: '${file}' is a zip without data.pkl (not a torch.save file)`);
  const prefix = pkl.slice(0, -'data.pkl'.length);
  const { value } = unpickle(zip.get(pkl)!.data(), torchHooks(file), 0, `${file}:${pkl}`);
  const out = new Map<string, LoadedTensor>();
  for (const [name, t] of collectTensors(value, file)) {
    const entry = zip.get(`${prefix}data/${t.storage.key}`);
    if (!entry) throw new Error(`weights: '${file}': storage ${t.storage.key} of '${name}' is missing from the archive`);
    out.set(name, materialise(entry.data(), t.storage.dtype, t.offset, t.shape, t.stride, opts, `'${file}' tensor '${name}'`));
  }
  return out;
}

function readTorchLegacy(bytes: Uint8Array, file: string, opts: ReadOptions): Map<string, LoadedTensor> {
  const none = { persistentLoad: () => null };
  let at = 0;
  const magic = unpickle(bytes, none, at, `${file} (magic)`);
  if (magic.value !== 0x1950a86a20f9469cfc6cn) throw new Error(`weights: '${file}' starts with a pickle but not torch.save's magic number`);
  at = unpickle(bytes, none, magic.end, `${file} (protocol)`).end;
  at = unpickle(bytes, none, at, `${file} (sys_info)`).end;
  const main = unpickle(bytes, torchHooks(file), at, `${file} (state dict)`);
  const keys = unpickle(bytes, none, main.end, `${file} (storage keys)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const storages = new Map<string, Uint8Array>();
  const tensors = collectTensors(main.value, file);
  const dtypeOfKey = new Map([...tensors.values()].map((t) => [t.storage.key, t.storage.dtype]));
  let p = keys.end;
  const keyNames = new Map([...tensors].map(([name, t]) => [t.storage.key, name]));
  for (const key of keys.value as string[]) {
    const size = DECODERS[dtypeOfKey.get(key) ?? 'F32'].bytes;
    const count = p + 8 <= bytes.length ? Number(view.getBigInt64(p, true)) : -1;
    if (count < 0 || p + 8 + count * size > bytes.length) {
      throw new WeightsError(`weights: '${file}' is truncated: storage ${key}${keyNames.has(key) ? ` (tensor '${keyNames.get(key)}')` : ''} needs bytes ${p}..${p + 8 + Math.max(count, 0) * size}, the file has ${bytes.length}`);
    }
    storages.set(key, bytes.subarray(p + 8, p + 8 + count * size));
    p += 8 + count * size;
  }
  const out = new Map<string, LoadedTensor>();
  for (const [name, t] of tensors) {
    const s = storages.get(t.storage.key);
    if (!s) throw new Error(`weights: '${file}': storage ${t.storage.key} of '${name}' is missing`);
    out.set(name, materialise(s, t.storage.dtype, t.offset, t.shape, t.stride, opts, `'${file}' tensor '${name}'`));
  }
  return out;
}

export interface PretrainedReport {
  file: string;
  /** Model keys filled from the file. */
  loaded: string[];
  /** Model keys the file lacks (kept at their initialisation: MLA modules, the neck, GeM's p). */
  missing: string[];
  /** File keys the model has no place for (e.g. torchvision's `fc.*`, or `conv2` where HLA replaced it). */
  unexpected: string[];
}

/**
 * Copy a weights file into `model` by key. Missing and unexpected keys are reported, never
 * silently dropped (`strict` turns them into an error); a shape mismatch is an error naming the key.
 */
export function loadPretrained(model: Module, path: string, strict = false): PretrainedReport {
  const own = model.stateDict();
  const values = fromCheckpoint(readStateDict(path, { dtype: [...own.values()][0]?.dtype ?? 'float32' }));
  for (const [k, v] of values) {
    const t = own.get(k);
    if (t && (t.shape.length !== v.shape.length || t.shape.some((d, i) => d !== v.shape[i]))) {
      throw new ShapeError(`weights: '${path}' has '${k}' of shape [${v.shape}], the model expects [${t.shape}] (a different width or depth?)`);
    }
  }
  const report = model.loadStateDict(values, false);
  const loaded = [...own.keys()].filter((k) => values.has(k));
  if (strict && (report.missing.length || report.unexpected.length)) {
    throw new Error(`weights: '${path}' does not match the model: missing ${report.missing.join(', ')}; unexpected ${report.unexpected.join(', ')}`);
  }
  return { file: path, loaded, missing: report.missing, unexpected: report.unexpected };
}

/**
 * A checkpoint of this project (reid/train/checkpoint.ts) keeps the model under `model.` beside the
 * optimizer's `optim.` moments: take the model's tensors, without the prefix. Any other file as is.
 */
function fromCheckpoint(values: Map<string, LoadedTensor>): Map<string, LoadedTensor> {
  const keys = [...values.keys()];
  if (!keys.some((k) => k.startsWith('optim.')) || !keys.some((k) => k.startsWith('model.'))) return values;
  return new Map([...values].filter(([k]) => k.startsWith('model.')).map(([k, v]) => [k.slice('model.'.length), v]));
}

/** A readable summary of a report, grouping keys by their module prefix. */
export function formatReport(r: PretrainedReport): string {
  const group = (keys: string[]) => {
    const by = new Map<string, number>();
    for (const k of keys) {
      const prefix = k.split('.').slice(0, -1).join('.') || k;
      by.set(prefix, (by.get(prefix) ?? 0) + 1);
    }
    return [...by].map(([p, n]) => `${p} (${n})`).join(', ') || 'none';
  };
  return `pretrained weights from ${r.file}: ${r.loaded.length} tensors loaded\n` +
    `  missing (kept at init): ${group(r.missing)}\n  unexpected (ignored): ${group(r.unexpected)}`;
}
