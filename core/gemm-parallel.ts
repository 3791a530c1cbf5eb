/**
 * GEMM over several cores: the calling thread and the helper threads (core/thread-pool.ts) each
 * compute a slice of C's columns (or rows, when C is narrow) with a single-thread kernel (the
 * plain-TypeScript one of ./gemm.ts, or the wasm one of ./wasm/kernels.ts), on operands that live
 * in SharedArrayBuffers (core/tensor.ts allocates large tensors there). Every element of C is
 * summed in the same order as on one thread, so results are bit-identical to the single-thread
 * kernel whatever the number of threads.
 *
 * Small products, operands outside shared memory, and MLA_THREADS=1 run on the calling thread.
 */
import { gemm } from './gemm.ts';
import { isShared, runJobs, splitRange, threadsAvailable, type Job } from './thread-pool.ts';
import { wasmGemm } from './wasm/kernels.ts';

/** Below this many multiply-adds the thread hand-off costs more than it saves. */
const MIN_WORK = 1 << 19;

export type GemmArgs = Parameters<typeof gemm>;
export type GemmFlavour = 'ts' | 'wasm';

/** The GEMM of `flavour` over every core; same contract as core/gemm.ts's gemm. */
export function parallelGemm(flavour: GemmFlavour): (...args: GemmArgs) => void {
  const single = flavour === 'wasm' ? wasmGemm : gemm;
  const name = flavour === 'wasm' ? 'gemm-wasm' : 'gemm-ts';
  return (...args) => {
    const [transA, transB, M, N, K, alpha, A, aOff, lda, B, bOff, ldb, beta, C, cOff, ldc] = args;
    if (M * N * K < MIN_WORK || !isShared(A) || !isShared(B) || !isShared(C)) return single(...args);
    const parts = threadsAvailable();
    if (parts === 1) return single(...args);
    // Split C's columns in multiples of 8 (the kernels' panel width); narrow C: split its rows.
    const byCols = N >= 8 * parts || N >= M;
    const jobs: Job[] = splitRange(byCols ? N : M, parts, 8).map(([lo, hi]) => ({
      name,
      args: byCols
        ? [transA, transB, M, hi - lo, K, alpha, A, aOff, lda, B, bOff + (transB ? lo * ldb : lo), ldb, beta, C, cOff + lo, ldc]
        : [transA, transB, hi - lo, N, K, alpha, A, aOff + (transA ? lo : lo * lda), lda, B, bOff, ldb, beta, C, cOff + lo * ldc, ldc],
    }));
    runJobs(jobs);
  };
}

/** The plain-TypeScript GEMM over every core. */
export const gemmParallel = parallelGemm('ts');
