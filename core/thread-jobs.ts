/**
 * The kernels a helper thread of core/thread-pool.ts can run, by name: each a single-thread kernel
 * over its share of the work (the callers split the work so that any split gives the same numbers).
 */
import { gemm } from './gemm.ts';
import { wasmGemm } from './wasm/kernels.ts';
import { convBackpropFilterRange, convBackpropInputRange, convForwardRange } from './wasm/conv.ts';

export const JOBS = {
  'gemm-ts': gemm,
  'gemm-wasm': wasmGemm,
  'conv-forward-wasm': convForwardRange,
  'conv-filter-wasm': convBackpropFilterRange,
  'conv-input-wasm': convBackpropInputRange,
};

export type JobName = keyof typeof JOBS;
