/**
 * The kernel registry (tfjs-core's idea, reduced to what this project dispatches): the hot kernels
 * by name, for the active backend. The CPU backend is plain TypeScript; `useKernels` lets the GPU
 * backend (gpu/backend.ts) substitute its own implementations with the same semantics.
 */
import { gemm as cpuGemm } from './gemm.ts';
import { gemmParallel } from './gemm-parallel.ts';

export interface Kernels {
  /** Row-major C = alpha op(A) op(B) + beta C; see core/gemm.ts. */
  gemm: typeof cpuGemm;
}

/** Plain TypeScript, on every core for large products. */
export const cpuKernels: Kernels = { gemm: gemmParallel };

/** The kernels in use. Mutated in place so that modules holding a reference see the switch. */
export const kernels: Kernels = { ...cpuKernels };

export let backendName = 'cpu (plain TypeScript)';

export function useKernels(name: string, impl: Partial<Kernels>): void {
  Object.assign(kernels, cpuKernels, impl);
  backendName = name;
}
