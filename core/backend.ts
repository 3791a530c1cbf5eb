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
import type { BatchNormLayout, BatchNormStep } from './kernels/batchnorm.ts';
import * as cpuAdam from './kernels/adam.ts';
import * as cpuL2 from './kernels/l2norm.ts';
import * as cpuCrossEntropy from './kernels/cross-entropy.ts';
import * as cpuMemory from './kernels/memory.ts';
import type { AdamStep } from './kernels/adam.ts';
import * as cpuElementwise from './kernels/elementwise.ts';
import * as cpuPool from './kernels/pool.ts';
import * as cpuSoftmax from './kernels/softmax.ts';
import * as cpuBroadcast from './kernels/broadcast.ts';
import type { BinaryOp, LoopNest } from './kernels/broadcast.ts';
import * as cpuUnary from './kernels/unary.ts';
import * as cpuReduce from './kernels/reduce.ts';
import type { UnaryOp } from './kernels/unary.ts';
import type { PoolGeometry } from './kernels/pool.ts';
import { setStorageProvider, type DType, type StorageProvider } from './tensor.ts';
import { TensorStorage, type DeviceBuffer, type DeviceStore } from './tensor-storage.ts';

/** Row-major C = alpha op(A) op(B) + beta C, op(A) [M, K], op(B) [K, N]; see core/gemm.ts. */
export type GemmKernel = (
  transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number,
  A: Buf, aOff: number, lda: number, B: Buf, bOff: number, ldb: number,
  beta: number, C: Buf, cOff: number, ldc: number,
) => void;

/** The named kernel set and each kernel's signature. */
export interface Kernels {
  gemm: GemmKernel;
  /** y [N, O, Ho, Wo] = conv(x [N, C, H, W], w [O, C, kh, kw]) (+ b [O]); y is overwritten. */
  conv2d: (g: ConvGeometry, x: Buf, w: Buf, b: Buf | null, y: Buf) => void;
  /** dw [O, C, kh, kw] += d(loss)/dw given dy [N, O, Ho, Wo]. */
  conv2dBackpropFilter: (g: ConvGeometry, x: Buf, dy: Buf, dw: Buf) => void;
  /** dx [N, C, H, W] += d(loss)/dx given dy. */
  conv2dBackpropInput: (g: ConvGeometry, w: Buf, dy: Buf, dx: Buf) => void;
  /** Per channel of x [N, C, S]: mean[c] and biased variance[c]; see core/kernels/batchnorm.ts. */
  batchNormStatistics: (l: BatchNormLayout, x: Buf, mean: Buf, variance: Buf) => void;
  /** Running statistics (training) or mean/variance from them (eval), then invStd, scale and shift [C]. */
  batchNormScaleShift: (C: number, step: BatchNormStep, gamma: Buf, beta: Buf, runningMean: Buf, runningVar: Buf,
    mean: Buf, variance: Buf, invStd: Buf, scale: Buf, shift: Buf) => void;
  /** y [N, C, S] = x · scale[c] + shift[c]; y is overwritten. */
  batchNormNormalize: (l: BatchNormLayout, x: Buf, scale: Buf, shift: Buf, y: Buf) => void;
  /** dβ += Σ dy, dγ += Σ dy x̂ per channel; dx += BatchNorm's input gradient (each if given). */
  batchNormBackward: (l: BatchNormLayout, x: Buf, dy: Buf, mean: Buf, invStd: Buf,
    scale: Buf, training: boolean, dx: Buf | null, dGamma: Buf | null, dBeta: Buf | null) => void;
  /** y = max(x, 0) (x > 0 ? x : 0); y is overwritten. */
  relu: (x: Buf, y: Buf) => void;
  /** dx += dy · [x > 0]. */
  reluBackward: (x: Buf, dy: Buf, dx: Buf) => void;
  /** y = a + b, all of one length; y is overwritten. */
  add: (a: Buf, b: Buf, y: Buf) => void;
  /** y += x, both of one length. */
  addInto: (y: Buf, x: Buf) => void;
  /** y [planes, Ho, Wo] = window maxima of x [planes, H, W], argmax their positions within a plane. */
  maxPool2d: (g: PoolGeometry, x: Buf, y: Buf, argmax: Buf) => void;
  /** dx[q, argmax[o]] += dy[o]. */
  maxPool2dBackward: (g: PoolGeometry, dy: Buf, argmax: Buf, dx: Buf) => void;
  /** db[o] += Σ_n Σ_p dy[n, o, p], dy [N, O, P]: a bias gradient. */
  biasGradient: (N: number, O: number, P: number, dy: Buf, db: Buf) => void;
  /** y [rows, n] = softmax of each row of x; y is overwritten. */
  softmax: (rows: number, n: number, x: Buf, y: Buf) => void;
  /** dx [rows, n] += y (dy − Σ dy y) per row. */
  softmaxBackward: (rows: number, n: number, y: Buf, dy: Buf, dx: Buf) => void;
  /** y = a op b, broadcast as `nest` says (core/kernels/broadcast.ts); y is overwritten. */
  broadcastBinary: (op: BinaryOp, nest: LoopNest, a: Buf, b: Buf, y: Buf) => void;
  /** dx += dy · ∂(a op b)/∂x for x = a or b, summed over the axes x was stretched along. */
  broadcastBinaryBackward: (op: BinaryOp, side: 'a' | 'b', nest: LoopNest, dy: Buf, a: Buf, b: Buf, dx: Buf) => void;
  /** y = op(x; s) for a scalar unary op (core/kernels/unary.ts); y is overwritten. */
  unary: (op: UnaryOp, s: number, x: Buf, y: Buf) => void;
  /** dx += dy · op'(x; s), given y = op(x; s). */
  unaryBackward: (op: UnaryOp, s: number, x: Buf, y: Buf, dy: Buf, dx: Buf) => void;
  /** y [outer, inner] = Σ_k x [outer, n, inner]; y is overwritten. */
  sumAxis: (outer: number, n: number, inner: number, x: Buf, y: Buf) => void;
  /** dx [outer, n, inner] += dy [outer, inner] (broadcast along the summed axis). */
  sumAxisBackward: (outer: number, n: number, inner: number, dy: Buf, dx: Buf) => void;
  /** y [rows] = mean of each row of x [rows, P] (global average pooling); y is overwritten. */
  meanPool: (rows: number, P: number, x: Buf, y: Buf) => void;
  /** dx [rows, P] += dy [rows] / P. */
  meanPoolBackward: (rows: number, P: number, dy: Buf, dx: Buf) => void;
  /** y [rows, D] = each row of x over max(its L2 norm, eps); norms [rows] the norms; both overwritten. */
  l2Normalize: (rows: number, D: number, eps: number, x: Buf, y: Buf, norms: Buf) => void;
  /** dx [rows, D] += the gradient of l2Normalize given y, the norms and dy. */
  l2NormalizeBackward: (rows: number, D: number, eps: number, y: Buf, norms: Buf, dy: Buf, dx: Buf) => void;
  /** flags[slot] = 1 if any of x [n] is NaN or ±∞, else left as it is (one slot may flag many tensors). */
  nonFinite: (n: number, x: Buf, flags: Buf, slot: number) => void;
  /** One Adam step of a parameter θ [n] with gradient g and moments m, v (core/kernels/adam.ts). */
  adamUpdate: (n: number, step: AdamStep, theta: Buf, grad: Buf, m: Buf, v: Buf) => void;
  /** p [rows, n] = softmax of each row of logits x, losses [rows] their cross-entropy with targets [rows]; both overwritten. */
  softmaxCrossEntropy: (rows: number, n: number, x: Buf, targets: Buf, p: Buf, losses: Buf) => void;
  /** dx [rows, n] = scale · (p − onehot(targets)); dx is overwritten. */
  softmaxCrossEntropyBackward: (rows: number, n: number, scale: number, p: Buf, targets: Buf, dx: Buf) => void;
  /** The memory update of M [K, D] with features f [B, D] and cluster ids targets [B] (core/kernels/memory.ts). */
  memoryUpdate: (D: number, B: number, momentum: number, hard: boolean, M: Buf, f: Buf, targets: Buf) => void;
}
export type KernelName = keyof Kernels;

/**
 * An operand: host values (a kernel of a host backend runs on them directly), or a tensor's
 * storage (core/tensor-storage.ts), which the registry hands to the kernel where its backend
 * computes: on the host, or on the device of a device backend, moving it there first if need be.
 */
export type Buf = Float | TensorStorage;

/** What a kernel does with an operand: reads it, updates it (reads and writes, possibly only part of it), or writes every value. */
export type OperandRole = 'in' | 'acc' | 'out';
/** A role, or what gives it from a call's arguments. */
type RoleOf = OperandRole | ((args: readonly unknown[]) => OperandRole);

/** The GEMM's C [M, N] (arguments 2, 3, 12–15): written whole when beta = 0 and the product covers all of it, else updated. */
const gemmC = (a: readonly unknown[]): OperandRole =>
  a[12] === 0 && a[14] === 0 && a[15] === a[3] && (a[2] as number) * (a[3] as number) === (a[13] as Buf).length ? 'out' : 'acc';

/**
 * What each kernel does with its operands, by argument position: reads it ('in'), updates it
 * ('acc'), or writes every value ('out': nothing needs to be brought over first); where that
 * depends on the call, a function of its arguments. One home for this knowledge: the registry's
 * adapters below use it to move a storage no more than the kernel needs.
 */
export const KERNEL_OPERANDS: { readonly [K in KernelName]: Readonly<Record<number, RoleOf>> } = {
  gemm: { 6: 'in', 9: 'in', 13: gemmC },
  conv2d: { 1: 'in', 2: 'in', 3: 'in', 4: 'out' },
  conv2dBackpropFilter: { 1: 'in', 2: 'in', 3: 'acc' },
  conv2dBackpropInput: { 1: 'in', 2: 'in', 3: 'acc' },
  batchNormStatistics: { 1: 'in', 2: 'out', 3: 'out' },
  batchNormScaleShift: { 2: 'in', 3: 'in', 4: 'acc', 5: 'acc', 6: 'acc', 7: 'acc', 8: 'out', 9: 'out', 10: 'out' },
  batchNormNormalize: { 1: 'in', 2: 'in', 3: 'in', 4: 'out' },
  batchNormBackward: { 1: 'in', 2: 'in', 3: 'in', 4: 'in', 5: 'in', 7: 'acc', 8: 'acc', 9: 'acc' },
  relu: { 0: 'in', 1: 'out' },
  reluBackward: { 0: 'in', 1: 'in', 2: 'acc' },
  add: { 0: 'in', 1: 'in', 2: 'out' },
  addInto: { 0: 'acc', 1: 'in' },
  maxPool2d: { 1: 'in', 2: 'out', 3: 'out' },
  maxPool2dBackward: { 1: 'in', 2: 'in', 3: 'acc' },
  biasGradient: { 3: 'in', 4: 'acc' },
  softmax: { 2: 'in', 3: 'out' },
  softmaxBackward: { 2: 'in', 3: 'in', 4: 'acc' },
  broadcastBinary: { 2: 'in', 3: 'in', 4: 'out' },
  broadcastBinaryBackward: { 3: 'in', 4: 'in', 5: 'in', 6: 'acc' },
  unary: { 2: 'in', 3: 'out' },
  unaryBackward: { 2: 'in', 3: 'in', 4: 'in', 5: 'acc' },
  sumAxis: { 3: 'in', 4: 'out' },
  sumAxisBackward: { 3: 'in', 4: 'acc' },
  meanPool: { 2: 'in', 3: 'out' },
  meanPoolBackward: { 2: 'in', 3: 'acc' },
  l2Normalize: { 3: 'in', 4: 'out', 5: 'out' },
  l2NormalizeBackward: { 3: 'in', 4: 'in', 5: 'in', 6: 'acc' },
  nonFinite: { 1: 'in', 2: 'acc' },
  adamUpdate: { 2: 'acc', 3: 'in', 4: 'acc', 5: 'acc' },
  softmaxCrossEntropy: { 2: 'in', 3: 'in', 4: 'out', 5: 'out' },
  softmaxCrossEntropyBackward: { 3: 'in', 4: 'in', 5: 'out' },
  memoryUpdate: { 4: 'acc', 5: 'in', 6: 'in' },
};

type Is<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Operand<P, T> = Is<P, Buf> extends true ? T : Is<P, Buf | null> extends true ? T | null : P;
type Operands<F, T> = F extends (...args: infer P) => infer R ? (...args: { [I in keyof P]: Operand<P[I], T> }) => R : never;
/** A host backend's kernels: every operand a host array. */
export type HostKernels = { [K in KernelName]: Operands<Kernels[K], Float> };
/** A device backend's kernels: every operand a buffer of its device store. */
export type DeviceKernels = { [K in KernelName]: Operands<Kernels[K], DeviceBuffer> };

/** Each operand's position and its role, or what gives the role from a call's arguments (looked up once per kernel). */
const operandsOf = (kernel: KernelName): [number, RoleOf][] => Object.entries(KERNEL_OPERANDS[kernel]).map(([i, r]) => [Number(i), r]);

/** The role in the call with arguments `args`. */
const roleIn = (r: RoleOf, args: readonly unknown[]): OperandRole => (typeof r === 'function' ? r(args) : r);

/** Whether an operand holds float64 values (a host array, or a storage). */
export const isFloat64 = (a: unknown): boolean => a instanceof Float64Array || (a instanceof TensorStorage && a.dtype === 'float64');

/** A host kernel taking any operand: storages give their host copy (brought back from a device if need be). */
function onHost<K extends KernelName>(kernel: K, fn: HostKernels[K]): Kernels[K] {
  const operands = operandsOf(kernel);
  return ((...args: unknown[]) => {
    for (const [i, r] of operands) {
      const a = args[i];
      if (!(a instanceof TensorStorage)) continue;
      const role = roleIn(r, args);
      args[i] = role === 'in' ? a.read() : role === 'acc' ? a.write() : a.overwrite();
    }
    return (fn as (...a: unknown[]) => void)(...args);
  }) as unknown as Kernels[K];
}

/**
 * A device kernel taking any operand: storages give their device copy; host arrays travel there and
 * back, once per call (a caller that passes one array to many calls hands it over as a
 * TensorStorage, which keeps its device copy). Float64 operands (the equation-level tests) run the
 * cpu reference on the host.
 */
function onDevice<K extends KernelName>(kernel: K, store: DeviceStore, fn: DeviceKernels[K]): Kernels[K] {
  const operands = operandsOf(kernel);
  return ((...args: unknown[]) => {
    const roles = operands.map(([i, r]): [number, OperandRole] => [i, roleIn(r, args)]);
    if (roles.some(([i]) => isFloat64(args[i]))) return (registry.get('cpu')![kernel] as (...a: unknown[]) => void)(...args);
    const hostResults: TensorStorage[] = [];
    const wrapped = new Map<unknown, TensorStorage>(); // a host array given twice travels once
    for (const [i, role] of roles) {
      let a = args[i];
      if (a === null) continue;
      if (!(a instanceof TensorStorage)) {
        const host = a;
        a = wrapped.get(host) ?? new TensorStorage(host as Float);
        wrapped.set(host, a as TensorStorage);
        if (role !== 'in') hostResults.push(a as TensorStorage);
      }
      const s = a as TensorStorage;
      args[i] = role === 'in' ? s.readOn(store) : role === 'acc' ? s.writeOn(store) : s.overwriteOn(store);
    }
    (fn as (...a: unknown[]) => void)(...args);
    for (const s of hostResults) s.read();
  }) as unknown as Kernels[K];
}

const registry = new Map<string, Partial<Kernels>>();

/** A host backend's kernel (tfjs-core's registerKernel). */
export interface KernelConfig<K extends KernelName> {
  kernel: K;
  backend: string;
  fn: HostKernels[K];
}

/** A device backend's kernel: its operands live in `store`. */
export interface DeviceKernelConfig<K extends KernelName> {
  kernel: K;
  backend: string;
  store: DeviceStore;
  fn: DeviceKernels[K];
}

function install<K extends KernelName>(backend: string, kernel: K, fn: Kernels[K]): void {
  const set = registry.get(backend) ?? {};
  set[kernel] = fn;
  registry.set(backend, set);
}

export function registerKernel<K extends KernelName>({ kernel, backend, fn }: KernelConfig<K>): void {
  install(backend, kernel, onHost(kernel, fn));
}

const deviceBackends = new Set<string>();

export function registerDeviceKernel<K extends KernelName>({ kernel, backend, store, fn }: DeviceKernelConfig<K>): void {
  deviceBackends.add(backend);
  install(backend, kernel, onDevice(kernel, store, fn));
}

function withHostGemm<F extends (...a: never[]) => void>(fn: F): F {
  return ((...args: never[]) => {
    const gemm = kernels.gemm;
    kernels.gemm = registry.get('cpu')!.gemm!;
    try {
      fn(...args);
    } finally {
      kernels.gemm = gemm;
    }
  }) as F;
}

/** The kernel `backend` registered under `kernel`, if any. */
export function getKernel<K extends KernelName>(kernel: K, backend: string): Kernels[K] | undefined {
  return registry.get(backend)?.[kernel];
}

/** The backends that registered at least one kernel. */
export function registeredBackends(): string[] {
  return [...registry.keys()];
}

/** Registers each kernel of `set` for host backend `backend`. */
export function registerKernels(backend: string, set: Partial<HostKernels>): void {
  for (const kernel of Object.keys(set) as KernelName[]) registerKernel({ kernel, backend, fn: set[kernel]! as never });
}

/** Registers each kernel of `set` for device backend `backend`, whose operands live in `store`. */
export function registerDeviceKernels(backend: string, store: DeviceStore, set: Partial<DeviceKernels>): void {
  for (const kernel of Object.keys(set) as KernelName[]) registerDeviceKernel({ kernel, backend, store, fn: set[kernel]! as never });
}

const { conv2d, conv2dBackpropFilter, conv2dBackpropInput } = cpuConv;
const { batchNormStatistics, batchNormScaleShift, batchNormNormalize, batchNormBackward } = cpuBatchNorm;
const { relu, reluBackward, add, addInto, biasGradient } = cpuElementwise;
const { maxPool2d, maxPool2dBackward } = cpuPool;
const { softmax, softmaxBackward } = cpuSoftmax;
const { broadcastBinary, broadcastBinaryBackward } = cpuBroadcast;
const { unary, unaryBackward } = cpuUnary;
const { sumAxis, sumAxisBackward, meanPool, meanPoolBackward, nonFinite } = cpuReduce;
registerKernels('cpu', {
  gemm: gemmParallel, conv2d, conv2dBackpropFilter, conv2dBackpropInput, batchNormStatistics, batchNormScaleShift,
  batchNormNormalize, batchNormBackward, relu, reluBackward, add, addInto, maxPool2d, maxPool2dBackward, biasGradient, softmax, softmaxBackward,
  broadcastBinary, broadcastBinaryBackward, unary, unaryBackward, sumAxis, sumAxisBackward, meanPool, meanPoolBackward,
  l2Normalize: cpuL2.l2Normalize, l2NormalizeBackward: cpuL2.l2NormalizeBackward, nonFinite, adamUpdate: cpuAdam.adamUpdate,
  softmaxCrossEntropy: cpuCrossEntropy.softmaxCrossEntropy, softmaxCrossEntropyBackward: cpuCrossEntropy.softmaxCrossEntropyBackward,
  memoryUpdate: cpuMemory.memoryUpdate,
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
  const cpu = registry.get('cpu')!;
  Object.assign(kernels, cpu, own);
  setStorageProvider(storages.get(backend) ?? null);
  const borrowed = (Object.keys(kernels) as KernelName[]).filter((k) => !(k in own));
  // A kernel a device backend borrows runs on the host, its inner products too (the cpu conv
  // kernels call kernels.gemm): operands move once for the whole kernel, not once per product.
  if (deviceBackends.has(backend)) for (const k of borrowed) kernels[k] = withHostGemm(cpu[k]!) as never;
  active = { name: backend, description: borrowed.length ? `${description}; cpu reference for ${borrowed.join(', ')}` : description };
}

/** The active backend's name ('cpu', 'wasm', ...). */
export function backendName(): string {
  return active.name;
}

let stateOverride: DType | null = null;

/**
 * The dtype of per-channel, per-row and optimizer state (BatchNorm's statistics, scale and shift;
 * the norms of row L2 normalisation; Adam's moments) of float32 tensors: float64 on a host backend (every number of the README was made so),
 * float32 on a device backend (a GPU has no fast float64, and float64 state would cross to the host).
 */
export function stateDtype(): DType {
  return stateOverride ?? (deviceBackends.has(active.name) ? 'float32' : 'float64');
}

/** Overrides stateDtype (null: the backend's own), e.g. to run the cpu reference in a device's precision. */
export function setStateDtype(dtype: DType | null): void {
  stateOverride = dtype;
}

/** The line printed at start-up: the backend and what runs where. */
export function backendDescription(): string {
  return active.description;
}
