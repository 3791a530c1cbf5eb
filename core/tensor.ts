/**
 * The shape-typed tensor.
 *
 * A `Tensor<['N','C','H','W']>` carries its axis names in its type (checked by the compiler where
 * layers are wired together) and its sizes at run time (checked by `expectShape`, whose errors name
 * the layer and both shapes). Storage is a contiguous row-major Float32Array (training) or
 * Float64Array (equation-level tests). Views (reshape, permute, slice) go through the `ndarray`
 * package; anything that is not a plain reshape is copied back to contiguous storage with
 * `ndarray-ops`, so every kernel sees dense row-major data.
 */
import ndarray from 'ndarray';
import ops from 'ndarray-ops';
import { TensorStorage } from './tensor-storage.ts';

type NdArray<D extends Storage> = ndarray.NdArray<D>;

export type DType = 'float32' | 'float64';
export type Storage = Float32Array | Float64Array;
export type Axes = readonly string[];

/** Tensors from this many values up live in shared memory, so GEMM worker threads can read them. */
const SHARED_FROM = 4096;

/**
 * Storage recycling. Fresh memory is slow here (its first touch costs 6-90x a warm write, DESIGN.md):
 * a training step of the default model spent more time allocating and first-touching its
 * activations and gradients than in its ReLU, add and BatchNorm kernels. Inside `recycling(fn)`
 * every buffer `alloc` hands out is taken back when fn returns, and the next scope reuses it. So fn
 * must keep nothing it allocated: the training loop wraps one iteration (forward, loss, backward,
 * Adam, memory update: parameters, their Adam state, BatchNorm's running statistics and the memory
 * are all allocated outside and updated in place), and feature extraction one batch, whose
 * features are copied out before the scope ends. If fn throws, its buffers are left to the garbage
 * collector. `setRecycling('poison')` fills taken-back buffers with NaN instead of reusing them, and
 * hands out `allocUnzeroed` buffers full of NaN: spec/train-e2e.test.ts trains that way and gets
 * the same numbers, so nothing outlives its scope and every kernel writes its whole output.
 */
let scope: Storage[] | null = null;
/** Buffers taken back from the last scope, by dtype and length; what a scope does not reuse is dropped at its end. */
let pool = new Map<string, Storage[]>();
let recyclingMode: 'on' | 'off' | 'poison' = 'on';
/** Smaller buffers are cheap to allocate: not worth a pool lookup. */
const RECYCLE_FROM = 1024;

const poolKey = (dtype: DType, n: number) => `${dtype}:${n}`;

/** Zeroed storage; large buffers are SharedArrayBuffer-backed (see core/gemm-parallel.ts). */
export function alloc(dtype: DType, n: number): Storage {
  return takeRecycled(dtype, n)?.fill(0) ?? tracked(freshStorage(dtype, n, true));
}

/** Storage for a kernel that writes every element: a recycled buffer comes as it was left (see above). */
export function allocUnzeroed(dtype: DType, n: number): Storage {
  if (recyclingMode === 'poison') return tracked(freshStorage(dtype, n, false).fill(NaN));
  return takeRecycled(dtype, n) ?? tracked(freshStorage(dtype, n, false));
}

/** allocUnzeroed outside any recycling scope: memory of a tensor made outside one, taken lazily inside it (core/tensor-storage.ts). */
export function allocLasting(dtype: DType, n: number): Storage {
  const inner = scope;
  scope = null;
  try {
    return allocUnzeroed(dtype, n);
  } finally {
    scope = inner;
  }
}

function takeRecycled(dtype: DType, n: number): Storage | undefined {
  if (!scope || n < RECYCLE_FROM) return undefined;
  const s = pool.get(poolKey(dtype, n))?.pop();
  if (s) scope.push(s);
  return s;
}

function tracked(s: Storage): Storage {
  if (scope && s.length >= RECYCLE_FROM) scope.push(s);
  return s;
}

/**
 * Where a backend keeps float32 storage (core/backend.ts `registerStorage`): the wasm backend's
 * linear memory, where its kernels use operands in place. Only a recycling scope's buffers live
 * there (their lifetime is known: they go back with `release` when a scope leaves them unused).
 */
export interface StorageProvider {
  /** n floats, contents undefined; null when the backend's memory is full. */
  allocFloats(n: number): Float32Array | null;
  /** Takes back storage from allocFloats; false for any other array. */
  release(a: Float32Array): boolean;
}

let provider: StorageProvider | null = null;

export function setStorageProvider(p: StorageProvider | null): void {
  provider = p;
}

function freshStorage(dtype: DType, n: number, zeroed: boolean): Storage {
  const owned = scope && provider && dtype === 'float32' && n >= SHARED_FROM ? provider.allocFloats(n) : null;
  if (owned) return zeroed ? owned.fill(0) : owned;
  const bytes = dtype === 'float32' ? 4 : 8;
  const buffer = n >= SHARED_FROM ? new SharedArrayBuffer(n * bytes) : new ArrayBuffer(n * bytes);
  return dtype === 'float32' ? new Float32Array(buffer as ArrayBuffer) : new Float64Array(buffer as ArrayBuffer);
}

export function setRecycling(mode: 'on' | 'off' | 'poison'): void {
  recyclingMode = mode;
  dropPool();
}

/** Forgets the pool; storage a backend provided goes back to it. */
function dropPool(): void {
  for (const list of pool.values()) for (const s of list) if (s instanceof Float32Array) provider?.release(s);
  pool = new Map();
}

/** Device buffers of the scope's tensors, freed when it ends (core/tensor-storage.ts). */
let scopeReleases: (() => void)[] = [];

/** Whether a recycling scope is running (what is allocated now is taken back at its end). */
export function inRecyclingScope(): boolean {
  return scope !== null;
}

/** Runs `release` when the current recycling scope ends (it must be inside one). */
export function releaseAtScopeEnd(release: () => void): void {
  scopeReleases.push(release);
}

/** Runs `fn`, then takes back every buffer it allocated (see above); nested scopes join the outer one. */
export function recycling<T>(fn: () => T): T {
  if (scope || recyclingMode === 'off') return fn();
  const mine: Storage[] = (scope = []);
  const releases: (() => void)[] = (scopeReleases = []);
  let result: T;
  try {
    result = fn();
  } finally {
    scope = null;
    scopeReleases = [];
  }
  for (const release of releases) release();
  dropPool();
  for (const s of mine) {
    if (recyclingMode === 'poison') {
      s.fill(NaN);
      if (s instanceof Float32Array) provider?.release(s);
    } else {
      const key = poolKey(dtypeOf(s), s.length);
      const list = pool.get(key);
      if (list) list.push(s);
      else pool.set(key, [s]);
    }
  }
  return result;
}

export function dtypeOf(data: Storage): DType {
  return data instanceof Float32Array ? 'float32' : 'float64';
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export class ShapeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ShapeError';
  }
}

export class Tensor<A extends Axes = Axes> {
  /** Where the values live (host, device or both; core/tensor-storage.ts). */
  readonly storage: TensorStorage;
  readonly shape: number[];
  /** d(loss)/d(this), accumulated by backward (null until a gradient arrives). */
  gradStorage: TensorStorage | null = null;
  /** True for parameters and for every tensor computed from one while the tape records. */
  requiresGrad: boolean;
  /** Optional display name (parameters carry their state-dict name). */
  name?: string;
  /** Phantom: the axis names live only in the type. */
  declare readonly axes?: A;

  constructor(data: Storage | TensorStorage, shape: readonly number[], requiresGrad = false) {
    if (data.length !== numel(shape)) {
      throw new ShapeError(`Tensor: shape [${shape}] holds ${numel(shape)} values but the storage has ${data.length}`);
    }
    this.storage = data instanceof TensorStorage ? data : new TensorStorage(data);
    this.shape = [...shape];
    this.requiresGrad = requiresGrad;
  }

  /** The values on the host, to read or update (a device copy is brought back first, and is stale afterwards). */
  get data(): Storage {
    return this.storage.write();
  }

  /** The accumulated gradient on the host (see `data`), or null. */
  get grad(): Storage | null {
    return this.gradStorage?.write() ?? null;
  }

  set grad(g: Storage | null) {
    this.gradStorage = g ? new TensorStorage(g) : null;
  }

  static zeros<A extends Axes = Axes>(shape: readonly number[], dtype: DType = 'float32'): Tensor<A> {
    return new Tensor<A>(alloc(dtype, numel(shape)), shape);
  }

  static full<A extends Axes = Axes>(shape: readonly number[], value: number, dtype: DType = 'float32'): Tensor<A> {
    const t = Tensor.zeros<A>(shape, dtype);
    t.data.fill(value);
    return t;
  }

  static from<A extends Axes = Axes>(values: ArrayLike<number>, shape: readonly number[], dtype: DType = 'float32'): Tensor<A> {
    const data = alloc(dtype, values.length);
    data.set(values);
    return new Tensor<A>(data, shape);
  }

  get dtype(): DType {
    return this.storage.dtype;
  }

  get size(): number {
    return this.storage.length;
  }

  get rank(): number {
    return this.shape.length;
  }

  /** An ndarray view of the storage (no copy). */
  nd(): NdArray<Storage> {
    return ndarray(this.data, this.shape);
  }

  /** The gradient on the host, allocated (zeroed) on first use. */
  gradBuffer(): Storage {
    return this.gradOf().write();
  }

  /** The gradient's storage, created (zero) on first use: what kernels accumulate into. */
  gradOf(): TensorStorage {
    return (this.gradStorage ??= new TensorStorage(this.dtype, this.size));
  }

  /** A copy that is not connected to the tape. */
  clone(): Tensor<A> {
    return new Tensor<A>(this.storage.read().slice(), this.shape);
  }

  toString(): string {
    return `Tensor${this.name ? ` '${this.name}'` : ''}[${this.shape.join(',')}] ${this.dtype}`;
  }
}

/**
 * Check a tensor's sizes at run time. `expected` gives a size per axis, or null for "any";
 * `where` names the layer or equation in the error.
 */
export function expectShape(t: Tensor, expected: readonly (number | null)[], where: string, what = 'input'): void {
  const ok = t.shape.length === expected.length && expected.every((d, i) => d === null || d === t.shape[i]);
  if (!ok) {
    const want = expected.map((d) => (d === null ? '*' : String(d))).join(',');
    throw new ShapeError(`${where}: ${what} has shape [${t.shape.join(',')}], expected [${want}]`);
  }
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Copy an ndarray view (any strides) into fresh contiguous storage. */
export function contiguous(view: NdArray<Storage>, dtype: DType): Storage {
  const out = alloc(dtype, numel(view.shape));
  ops.assign(ndarray(out, view.shape), view);
  return out;
}
