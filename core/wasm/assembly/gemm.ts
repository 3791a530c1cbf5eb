/**
 * GEMM in WebAssembly SIMD (AssemblyScript), row-major, BLAS semantics, float32:
 *
 *   C = alpha · op(A) · op(B) + beta · C,   op(A) [M, K], op(B) [K, N]
 *
 * The same contract as core/gemm.ts (the plain-TypeScript reference it is tested against), on
 * operands that already live in this module's linear memory (pointers are byte addresses).
 * BLIS's loop nest: for each NC-wide block of op(B)'s columns and each KC-deep slice of K, op(B) is
 * packed into 8-wide column panels; for each MC-tall block of op(A)'s rows, op(A) is packed into
 * 6-tall row panels; a 6 x 8 register tile (12 f32x4 accumulators, relaxed-SIMD multiply-add) then
 * runs over the slice. The packing handles every transpose case, so forward and both backward
 * products run the same micro-kernel. Packed panels are zero-padded, so edge tiles compute a full
 * 6 x 8 tile and store only the part that exists.
 */

const MR = 6;
const NR = 8;
const KC = 256;
const MC = 72;
const NC = 1024;

/** Bytes of scratch the caller must provide at `pack` (packed A block, then packed B block). */
export function gemmScratchBytes(): i32 {
  return (MC * KC + NC * KC) << 2;
}

export function gemm(
  transA: i32, transB: i32, M: i32, N: i32, K: i32, alpha: f32,
  a: usize, lda: i32, b: usize, ldb: i32, beta: f32, c: usize, ldc: i32, pack: usize,
): void {
  scaleC(M, N, beta, c, ldc);
  if (M == 0 || N == 0 || K == 0 || alpha == 0) return;
  const packA = pack;
  const packB = pack + ((MC * KC) << 2);
  for (let jc = 0; jc < N; jc += NC) {
    const nc = min(NC, N - jc);
    for (let pc = 0; pc < K; pc += KC) {
      const kc = min(KC, K - pc);
      packBBlock(transB, b, ldb, pc, jc, kc, nc, packB);
      for (let ic = 0; ic < M; ic += MC) {
        const mc = min(MC, M - ic);
        packABlock(transA, a, lda, ic, pc, mc, kc, packA);
        for (let jr = 0; jr < nc; jr += NR) {
          const pb = packB + ((jr * kc) << 2);
          const nn = min(NR, nc - jr);
          for (let ir = 0; ir < mc; ir += MR) {
            const pa = packA + ((ir * kc) << 2);
            const cp = c + ((((ic + ir) * ldc) + jc + jr) << 2);
            microKernel(pa, pb, kc, alpha, cp, ldc, min(MR, mc - ir), nn);
          }
        }
      }
    }
  }
}

/** C <- beta · C (beta 0 writes zeros, so C may hold anything, NaN included). */
function scaleC(M: i32, N: i32, beta: f32, c: usize, ldc: i32): void {
  if (beta == 1) return;
  for (let i = 0; i < M; i++) {
    const row = c + ((i * ldc) << 2);
    if (beta == 0) memory.fill(row, 0, N << 2);
    else for (let j = 0; j < N; j++) store<f32>(row + (j << 2), load<f32>(row + (j << 2)) * beta);
  }
}

/** op(B)[pc:pc+kc, jc:jc+nc] into panels of NR columns: panel p, row k at ((p·kc + k)·NR). */
function packBBlock(transB: i32, b: usize, ldb: i32, pc: i32, jc: i32, kc: i32, nc: i32, dst: usize): void {
  for (let jr = 0; jr < nc; jr += NR) {
    const nn = min(NR, nc - jr);
    const panel = dst + ((jr * kc) << 2);
    for (let k = 0; k < kc; k++) {
      const out = panel + ((k * NR) << 2);
      if (!transB) {
        const src = b + ((((pc + k) * ldb) + jc + jr) << 2);
        if (nn == NR) {
          v128.store(out, v128.load(src));
          v128.store(out, v128.load(src, 16), 16);
        } else {
          for (let j = 0; j < NR; j++) store<f32>(out + (j << 2), j < nn ? load<f32>(src + (j << 2)) : 0);
        }
      } else {
        const src = b + ((((jc + jr) * ldb) + pc + k) << 2);
        for (let j = 0; j < NR; j++) store<f32>(out + (j << 2), j < nn ? load<f32>(src + ((j * ldb) << 2)) : 0);
      }
    }
  }
}

/** op(A)[ic:ic+mc, pc:pc+kc] into panels of MR rows: panel p, column k at ((p·kc + k)·MR). */
function packABlock(transA: i32, a: usize, lda: i32, ic: i32, pc: i32, mc: i32, kc: i32, dst: usize): void {
  for (let ir = 0; ir < mc; ir += MR) {
    const mm = min(MR, mc - ir);
    const panel = dst + ((ir * kc) << 2);
    if (!transA) {
      for (let i = 0; i < MR; i++) {
        const src = a + ((((ic + ir + i) * lda) + pc) << 2);
        for (let k = 0; k < kc; k++) store<f32>(panel + (((k * MR) + i) << 2), i < mm ? load<f32>(src + (k << 2)) : 0);
      }
    } else {
      for (let k = 0; k < kc; k++) {
        const src = a + ((((pc + k) * lda) + ic + ir) << 2);
        const out = panel + ((k * MR) << 2);
        for (let i = 0; i < MR; i++) store<f32>(out + (i << 2), i < mm ? load<f32>(src + (i << 2)) : 0);
      }
    }
  }
}

/** Scratch for an edge tile's 6 x 8 results. */
const edge = memory.data(MR * NR * 4, 16);

/** C[0:mm, 0:nn] += alpha · Apanel[6, kc] · Bpanel[kc, 8]. */
function microKernel(pa: usize, pb: usize, kc: i32, alpha: f32, c: usize, ldc: i32, mm: i32, nn: i32): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  let c40 = f32x4.splat(0), c41 = f32x4.splat(0);
  let c50 = f32x4.splat(0), c51 = f32x4.splat(0);
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(pb);
    const b1 = v128.load(pb, 16);
    let a = v128.load32_splat(pa);
    c00 = f32x4.relaxed_madd(a, b0, c00); c01 = f32x4.relaxed_madd(a, b1, c01);
    a = v128.load32_splat(pa, 4);
    c10 = f32x4.relaxed_madd(a, b0, c10); c11 = f32x4.relaxed_madd(a, b1, c11);
    a = v128.load32_splat(pa, 8);
    c20 = f32x4.relaxed_madd(a, b0, c20); c21 = f32x4.relaxed_madd(a, b1, c21);
    a = v128.load32_splat(pa, 12);
    c30 = f32x4.relaxed_madd(a, b0, c30); c31 = f32x4.relaxed_madd(a, b1, c31);
    a = v128.load32_splat(pa, 16);
    c40 = f32x4.relaxed_madd(a, b0, c40); c41 = f32x4.relaxed_madd(a, b1, c41);
    a = v128.load32_splat(pa, 20);
    c50 = f32x4.relaxed_madd(a, b0, c50); c51 = f32x4.relaxed_madd(a, b1, c51);
    pa += MR << 2;
    pb += NR << 2;
  }
  const al = f32x4.splat(alpha);
  if (mm == MR && nn == NR) {
    addRow(c, al, c00, c01);
    addRow(c + ((ldc) << 2), al, c10, c11);
    addRow(c + ((2 * ldc) << 2), al, c20, c21);
    addRow(c + ((3 * ldc) << 2), al, c30, c31);
    addRow(c + ((4 * ldc) << 2), al, c40, c41);
    addRow(c + ((5 * ldc) << 2), al, c50, c51);
    return;
  }
  v128.store(edge, f32x4.mul(c00, al)); v128.store(edge, f32x4.mul(c01, al), 16);
  v128.store(edge, f32x4.mul(c10, al), 32); v128.store(edge, f32x4.mul(c11, al), 48);
  v128.store(edge, f32x4.mul(c20, al), 64); v128.store(edge, f32x4.mul(c21, al), 80);
  v128.store(edge, f32x4.mul(c30, al), 96); v128.store(edge, f32x4.mul(c31, al), 112);
  v128.store(edge, f32x4.mul(c40, al), 128); v128.store(edge, f32x4.mul(c41, al), 144);
  v128.store(edge, f32x4.mul(c50, al), 160); v128.store(edge, f32x4.mul(c51, al), 176);
  for (let i = 0; i < mm; i++) {
    const row = c + ((i * ldc) << 2);
    for (let j = 0; j < nn; j++) {
      const p = row + (j << 2);
      store<f32>(p, load<f32>(p) + load<f32>(edge + (((i * NR) + j) << 2)));
    }
  }
}

// @ts-ignore: decorator
@inline function addRow(row: usize, al: v128, lo: v128, hi: v128): void {
  v128.store(row, f32x4.add(v128.load(row), f32x4.mul(lo, al)));
  v128.store(row, f32x4.add(v128.load(row, 16), f32x4.mul(hi, al)), 16);
}
