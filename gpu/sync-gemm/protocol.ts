/**
 * Messages and states shared by bridge.ts (main thread) and worker-body.ts (webgpu worker).
 *
 * ctl: Int32Array over a SharedArrayBuffer, [state, errorLength]; state is STATE_BUSY while the
 * worker runs a job, then STATE_DONE or STATE_ERROR (error text, UTF-8, in the err buffer).
 * data: Float32Array over a SharedArrayBuffer laid out [A span | B span | Cin | out (M*N)].
 */
export const STATE_BUSY = 0;
export const STATE_DONE = 1;
export const STATE_ERROR = 2;

/** Which GEMM the worker runs: the tiled WGSL shader (gpu/wgsl/gemm.ts) or gpu.js's naive kernel. */
export type GemmEngine = 'wgsl' | 'gpujs';

export interface GemmJobMessage {
  /** a new, larger data buffer when the previous one was too small */
  data?: SharedArrayBuffer;
  aLen: number; bLen: number; cLen: number;
  M: number; N: number; K: number; lda: number; ldb: number;
  transA: number; transB: number; alpha: number; beta: number;
  engine: GemmEngine;
}
