/**
 * The `wasm` backend: WebAssembly-SIMD kernels (core/wasm/assembly/, AssemblyScript), on every core
 * for large work, over tensors that live in its shared linear memory (./memory.ts).
 * `registerWasmBackend()` loads the module and registers its kernels and storage; it returns why not
 * where the module cannot load (the run then says so and stays on `cpu`). Float64 operands
 * (the equation-level tests) run the cpu reference kernels.
 *
 * Threads share a kernel's work so that any split gives the same numbers, bit for bit: GEMM by
 * columns (core/gemm-parallel.ts), conv forward and dX by images, conv dW by rows of im2col.
 */
import { registerKernels, registerStorage, useBackend, type HostKernels } from '../backend.ts';
import { parallelGemm } from '../gemm-parallel.ts';
import * as cpuConv from '../kernels/conv.ts';
import type { ConvGeometry } from '../kernels/conv.ts';
import type { Float } from '../gemm.ts';
import { isShared, runJobs, splitRange, threadsAvailable, type Job } from '../thread-pool.ts';
import type { JobName } from '../thread-jobs.ts';
import { allF32, loadWasmKernels, wasmFailure } from './kernels.ts';
import { convBackpropFilterRange, convBackpropInputRange, convForwardRange } from './conv.ts';
import * as batchNorm from './batchnorm.ts';
import * as elementwise from './elementwise.ts';
import * as pool from './pool.ts';
import * as softmax from './softmax.ts';
import * as unary from './unary.ts';
import * as broadcast from './broadcast.ts';
import { allocFloats, release } from './memory.ts';

/** Below this many multiply-adds a conv runs on the calling thread. */
const MIN_WORK = 1 << 20;

const macs = (g: ConvGeometry) => g.N * g.O * g.Ho * g.Wo * g.C * g.kh * g.kw;

/**
 * Runs `name` over [0, extent) split across the threads, or on this thread alone when not worth it,
 * when the output is not in shared memory, or when a large input is not (a helper would get a copy
 * of it with every job).
 */
function onCores(name: JobName, g: ConvGeometry, inputs: Float[], out: Float, extent: number, args: (lo: number, hi: number) => unknown[]): void {
  const shareable = isShared(out) && inputs.every((a) => isShared(a) || a.length < SMALL);
  const parts = macs(g) >= MIN_WORK && shareable ? Math.min(threadsAvailable(), extent) : 1;
  runJobs(splitRange(extent, parts).map(([lo, hi]): Job => ({ name, args: args(lo, hi) })));
}

/** Arrays this short may travel to a helper as a copy (weights of small layers, biases). */
const SMALL = 1 << 14;

const conv2d: HostKernels['conv2d'] = (g, x, w, b, y) => {
  if (!allF32(x, w, b, y)) return cpuConv.conv2d(g, x, w, b, y);
  if (g.N === 0) return;
  onCores('conv-forward-wasm', g, [x, w], y, g.N, (n0, n1) => [g, x, w, b, y, n0, n1]);
};

const conv2dBackpropFilter: HostKernels['conv2dBackpropFilter'] = (g, x, dy, dw) => {
  if (!allF32(x, dy, dw)) return cpuConv.conv2dBackpropFilter(g, x, dy, dw);
  onCores('conv-filter-wasm', g, [x, dy], dw, g.C * g.kh * g.kw, (r0, r1) => [g, x, dy, dw, r0, r1]);
};

const conv2dBackpropInput: HostKernels['conv2dBackpropInput'] = (g, w, dy, dx) => {
  if (!allF32(w, dy, dx)) return cpuConv.conv2dBackpropInput(g, w, dy, dx);
  if (g.N === 0) return;
  onCores('conv-input-wasm', g, [w, dy], dx, g.N, (n0, n1) => [g, w, dy, dx, n0, n1]);
};

let registered = false;

/** Registers the wasm kernels (once); returns null, or the reason the module did not load. */
export function registerWasmBackend(): string | null {
  if (!loadWasmKernels()) return wasmFailure();
  if (registered) return null;
  const { batchNormStatistics, batchNormNormalize, batchNormBackward } = batchNorm;
  const { relu, reluBackward, add, addInto } = elementwise;
  registerKernels('wasm', {
    gemm: parallelGemm('wasm'), conv2d, conv2dBackpropFilter, conv2dBackpropInput, batchNormStatistics, batchNormNormalize,
    batchNormBackward, relu, reluBackward, add, addInto, maxPool2d: pool.maxPool2d,
    softmax: softmax.softmax, softmaxBackward: softmax.softmaxBackward, unary: unary.unary, unaryBackward: unary.unaryBackward,
    broadcastBinary: broadcast.broadcastBinary, broadcastBinaryBackward: broadcast.broadcastBinaryBackward,
  });
  registerStorage('wasm', { allocFloats, release });
  registered = true;
  return null;
}

/** For the spec: the single-thread range kernels, to check that any split gives the same numbers. */
export const convRanges = { convForwardRange, convBackpropFilterRange, convBackpropInputRange };

/**
 * In a worker thread (k-NN, evaluation): the kernels of the run's backend `name` where this thread
 * can have them (wasm), else the cpu reference (a GPU backend's device belongs to the main thread).
 */
export function useBackendInThisThread(name: string): void {
  if (name === 'wasm' && registerWasmBackend() === null) useBackend('wasm');
  else useBackend('cpu');
}
