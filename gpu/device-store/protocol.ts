/**
 * What the main thread (store.ts) and the WebGPU worker (worker-body.ts) say to each other.
 *
 * Commands go one way, in order, without waiting (postMessage keeps their order); only a download
 * waits: the worker writes the values into the shared `data` buffer, sets ctl[STATE] to DONE and
 * wakes the main thread. The first failure of any command is kept: its text goes to the shared
 * `err` buffer and ctl[FAILED] becomes 1; the main thread checks it before each command and at each
 * download, and throws it there.
 */
import type { ConvGeometry } from '../../core/kernels/conv.ts';
import type { RowShaderName } from './rows-wgsl.ts';
import type { BinaryOp, LoopNest } from '../../core/kernels/broadcast.ts';
import type { PoolGeometry } from '../../core/kernels/pool.ts';
import type { AdamStep } from '../../core/kernels/adam.ts';

export const STATE = 0;
export const ERR_LENGTH = 1;
export const FAILED = 2;
export const BUSY = 0;
export const DONE = 1;

/** The kernels the worker runs (elementwise-wgsl.ts), by name. */
export type DeviceKernelName = 'relu' | 'reluBackward' | 'add' | 'addInto';

export type Command =
  | { op: 'alloc'; id: number; n: number }
  | { op: 'free'; id: number }
  | { op: 'upload'; id: number; values: Float32Array }
  | { op: 'clear'; id: number }
  | { op: 'download'; id: number; n: number; data?: SharedArrayBuffer }
  | { op: 'run'; kernel: DeviceKernelName; ids: number[]; n: number }
  | { op: 'gemm'; ids: [number, number, number]; shape: GemmShape }
  /** ids: x, w, b (0: none), y */
  | { op: 'conv2d'; ids: [number, number, number, number]; g: ConvGeometry }
  /** ids: x, dy, dw */
  | { op: 'conv2dBackpropFilter'; ids: [number, number, number]; g: ConvGeometry }
  /** ids: w, dy, dx */
  | { op: 'conv2dBackpropInput'; ids: [number, number, number]; g: ConvGeometry }
  /** ids: dy, db */
  | { op: 'biasGradient'; ids: [number, number]; N: number; O: number; P: number }
  /** BatchNorm (batchnorm-wgsl.ts) on x [N, C, S]; ids: x, mean, variance */
  | { op: 'bnStatistics'; ids: [number, number, number]; N: number; C: number; S: number }
  /** ids: gamma, beta, runningMean, runningVar, mean, variance, invStd, scale, shift; n values per channel */
  | { op: 'bnScaleShift'; ids: number[]; C: number; n: number; training: boolean; momentum: number; eps: number }
  /** ids: x, scale, shift, y */
  | { op: 'bnNormalize'; ids: [number, number, number, number]; N: number; C: number; S: number }
  /** broadcast-wgsl.ts: ids a, b, y (forward) or a, b, dy, dx (backward, side given) */
  | { op: 'broadcast'; binary: BinaryOp; side: 'a' | 'b' | null; nest: LoopNest; ids: number[] }
  /** pool-wgsl.ts: ids x, y, argmax (forward) or dy, argmax, dx (backward) */
  | { op: 'maxPool'; backward: boolean; g: PoolGeometry; ids: [number, number, number] }
  /** a shader of rows-wgsl.ts: softmax, scalar unary ops, reductions */
  | { op: 'row'; name: RowShaderName; ids: number[]; n0: number; n1: number; n2: number; total: number; s: number }
  /** ids: x, dy, mean, invStd, scale, then dx, dGamma, dBeta (each 0: none) */
  | { op: 'bnBackward'; ids: number[]; N: number; C: number; S: number; training: boolean }
  /** Adam (elementwise-wgsl.ts ADAM); ids: theta, grad, m, v */
  | { op: 'adam'; ids: [number, number, number, number]; n: number; step: AdamStep };

/** The registry's GEMM (core/backend.ts) less its operands: C = alpha op(A) op(B) + beta C. */
export interface GemmShape {
  transA: boolean; transB: boolean; M: number; N: number; K: number; alpha: number;
  aOff: number; lda: number; bOff: number; ldb: number; beta: number; cOff: number; ldc: number;
}
