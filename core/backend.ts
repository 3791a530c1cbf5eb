/**
 * The kernel registry (tfjs-core's `registerKernel`): every kernel by name × backend, and the
 * active backend's set in `kernels`, chosen once per run and printed at start-up.
 *
 *   registerKernel({ kernel: 'gemm', backend: 'wasm', fn })   a backend provides a kernel
 *   useBackend('wasm')                                        the run's backend: its kernels, the
 *                                                             cpu reference for any it lacks
 *   kernels.gemm(...)                                         what the ops (core/ops/*) call
 *
 * `cpu` is the plain-TypeScript reference, the living definition of every kernel: every other
 * backend's kernel is checked against it (spec/kernels/). The cpu backend is active until a run
 * chooses another; `npm run train` chooses `wasm` where it loads (reid/train/backend.ts).
 */
import { gemmParallel } from './gemm-parallel.ts';
import type { Float } from './gemm.ts';
import * as cpuConv from './kernels/conv.ts';
import type { ConvGeometry } from './kernels/conv.ts';
import * as cpuBatchNorm from './kernels/batchnorm.ts';
import type { BatchNormLayout } from './kernels/batchnorm.ts';
import * as cpuElementwise from './kernels/elementwise.ts';
import * as cpuPool from './kernels/pool.ts';
import type { PoolGeometry } from './kernels/pool.ts';
import { setStorageProvider, type StorageProvider } from './tensor.ts';

/** Row-major C = alpha op(A) op(B) + beta C, op(A) [M, K], op(B) [K, N]; see core/gemm.ts. */
export type GemmKernel = (
  transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number,
  A: Float, aOff: number, lda: number, B: Float, bOff: number, ldb: number,
  beta: number, C: Float, cOff: number, ldc: number,
) => void;

/** The named kernel set and each kernel's signature. */
export interface Kernels {
  gemm: GemmKernel;
  /** y [N, O, Ho, Wo] = conv(x [N, C, H, W], w [O, C, kh, kw]) (+ b [O]); y is overwritten. */
  conv2d: (g: ConvGeometry, x: Float, w: Float, b: Float | null, y: Float) => void;
  /** dw [O, C, kh, kw] += d(loss)/dw given dy [N, O, Ho, Wo]. */
  conv2dBackpropFilter: (g: ConvGeometry, x: Float, dy: Float, dw: Float) => void;
  /** dx [N, C, H, W] += d(loss)/dx given dy. */
  conv2dBackpropInput: (g: ConvGeometry, w: Float, dy: Float, dx: Float) => void;
  /** Per channel of x [N, C, S]: mean[c] and biased variance[c]; see core/kernels/batchnorm.ts. */
  batchNormStatistics: (l: BatchNormLayout, x: Float, mean: Float64Array, variance: Float64Array) => void;
  /** y [N, C, S] = x · scale[c] + shift[c]; y is overwritten. */
  batchNormNormalize: (l: BatchNormLayout, x: Float, scale: Float64Array, shift: Float64Array, y: Float) => void;
  /** sums [2C] = (Σ dy, Σ dy x̂) per channel; dx (if given) += BatchNorm's input gradient. */
  batchNormBackward: (l: BatchNormLayout, x: Float, dy: Float, mean: Float64Array, invStd: Float64Array,
    scale: Float64Array, training: boolean, dx: Float | null, sums: Float64Array) => void;
  /** y = max(x, 0) (x > 0 ? x : 0); y is overwritten. */
  relu: (x: Float, y: Float) => void;
  /** dx += dy · [x > 0]. */
  reluBackward: (x: Float, dy: Float, dx: Float) => void;
  /** y = a + b, all of one length; y is overwritten. */
  add: (a: Float, b: Float, y: Float) => void;
  /** y += x, both of one length. */
  addInto: (y: Float, x: Float) => void;
  /** y [planes, Ho, Wo] = window maxima of x [planes, H, W], argmax their flat indices into x. */
  maxPool2d: (g: PoolGeometry, x: Float, y: Float, argmax: Int32Array) => void;
  /** dx[argmax[o]] += dy[o]. */
  maxPool2dBackward: (dy: Float, argmax: Int32Array, dx: Float) => void;
}
export type KernelName = keyof Kernels;

export interface KernelConfig<K extends KernelName> {
  kernel: K;
  backend: string;
  fn: Kernels[K];
}

const registry = new Map<string, Partial<Kernels>>();

export function registerKernel<K extends KernelName>({ kernel, backend, fn }: KernelConfig<K>): void {
  const set = registry.get(backend) ?? {};
  set[kernel] = fn;
  registry.set(backend, set);
}

/** The kernel `backend` registered under `kernel`, if any. */
export function getKernel<K extends KernelName>(kernel: K, backend: string): Kernels[K] | undefined {
  return registry.get(backend)?.[kernel];
}

/** The backends that registered at least one kernel. */
export function registeredBackends(): string[] {
  return [...registry.keys()];
}

/** Registers each kernel of `set` for `backend`. */
export function registerKernels(backend: string, set: Partial<Kernels>): void {
  for (const kernel of Object.keys(set) as KernelName[]) registerKernel({ kernel, backend, fn: set[kernel]! as never });
}

const { conv2d, conv2dBackpropFilter, conv2dBackpropInput } = cpuConv;
const { batchNormStatistics, batchNormNormalize, batchNormBackward } = cpuBatchNorm;
const { relu, reluBackward, add, addInto } = cpuElementwise;
const { maxPool2d, maxPool2dBackward } = cpuPool;
registerKernels('cpu', {
  gemm: gemmParallel, conv2d, conv2dBackpropFilter, conv2dBackpropInput, batchNormStatistics, batchNormNormalize,
  batchNormBackward, relu, reluBackward, add, addInto, maxPool2d, maxPool2dBackward,
});

const storages = new Map<string, StorageProvider>();

/** Where `backend` keeps tensor storage (see core/tensor.ts); without one, ordinary memory. */
export function registerStorage(backend: string, storage: StorageProvider): void {
  storages.set(backend, storage);
}

/** The active backend's kernels. Mutated in place, so that modules holding a reference see the switch. */
export const kernels: Kernels = { ...(registry.get('cpu') as Kernels) };

let active = { name: 'cpu', description: 'cpu (plain TypeScript)' };

/** Make `backend` the active one; `description` is the start-up line (adapter, threads, ...). */
export function useBackend(backend: string, description = backend): void {
  const own = registry.get(backend);
  if (!own) throw new Error(`backend '${backend}' has no kernels registered (registered: ${registeredBackends().join(', ')})`);
  Object.assign(kernels, registry.get('cpu'), own);
  setStorageProvider(storages.get(backend) ?? null);
  const borrowed = (Object.keys(kernels) as KernelName[]).filter((k) => !(k in own));
  active = { name: backend, description: borrowed.length ? `${description}; cpu reference for ${borrowed.join(', ')}` : description };
}

/** The active backend's name ('cpu', 'wasm', ...). */
export function backendName(): string {
  return active.name;
}

/** The line printed at start-up: the backend and what runs where. */
export function backendDescription(): string {
  return active.description;
}
