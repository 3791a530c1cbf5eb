/** The multi-threaded GEMM is bit-identical to its single-thread kernel (same summation order per element), for both flavours. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { availableParallelism } from 'node:os';
import { gemm } from '../core/gemm.ts';
import { parallelGemm } from '../core/gemm-parallel.ts';
import { threadsStarted } from '../core/thread-pool.ts';
import { wasmGemm } from '../core/wasm/kernels.ts';
import { alloc } from '../core/tensor.ts';
import { Rng } from '../core/random.ts';

describe.each([['ts', gemm], ['wasm', wasmGemm]] as const)('parallelGemm(%s)', (flavour, single) => {
  const gemmParallel = parallelGemm(flavour);
  it('equals the single-thread kernel exactly on shared operands, all transposes, sizes above the threading threshold', () => {
    fc.assert(fc.property(
      fc.boolean(), fc.boolean(), fc.integer({ min: 20, max: 90 }), fc.integer({ min: 20, max: 300 }), fc.integer({ min: 100, max: 400 }),
      fc.constantFrom('float32' as const, 'float64' as const), fc.double({ min: -1, max: 1, noNaN: true }), fc.integer(),
      (tA, tB, M, N, K, dtype, beta, seed) => {
        const rng = new Rng(seed);
        const random = (n: number) => { const a = alloc(dtype, n); for (let i = 0; i < n; i++) a[i] = rng.normal(); return a; };
        const A = random(M * K + 3);
        const B = random(K * N + 5);
        const C0 = random(M * N);
        const C1 = alloc(dtype, M * N);
        C1.set(C0);
        single(tA, tB, M, N, K, 0.5, A, 3, tA ? M : K, B, 5, tB ? K : N, beta, C0, 0, N);
        gemmParallel(tA, tB, M, N, K, 0.5, A, 3, tA ? M : K, B, 5, tB ? K : N, beta, C1, 0, N);
        expect(C1).toEqual(C0);
      }), { numRuns: 25 });
    // on a multi-core machine the products above really were split over threads
    if (availableParallelism() > 1 && process.env.MLA_THREADS !== '1') expect(threadsStarted()).toBeGreaterThan(1);
  });
});
