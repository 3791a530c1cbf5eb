/**
 * GEMM in WebAssembly SIMD (AssemblyScript), row-major, BLAS semantics, float32:
 *
 *   C = alpha · op(A) · op(B) + beta · C,   op(A) [M, K], op(B) [K, N]
 *
 * The same contract as core/gemm.ts (the plain-TypeScript reference it is tested against), on
 * operands that already live in this module's linear memory (pointers are byte addresses).
 * BLIS's loop nest: for each NC-wide block of op(B)'s columns and each KC-deep slice of K, op(B) is
 * packed into 8-wide column panels; for each MC-tall block of op(A)'s rows, op(A) is packed into
 * row panels 6 or 4 tall; a 6 x 8 register tile (12 f32x4 accumulators, relaxed-SIMD multiply-add)
 * or a 4 x 8 one (8 accumulators) then runs over the slice. A block's rows are covered by 6-row
 * tiles and at most two 4-row tiles, so that the output-channel counts of the models (multiples of
 * 8) waste no rows: M = 8 is two 4-row tiles, 16 is 6 + 6 + 4, 64 is ten 6-row tiles + 4.
 * When op(A) has at most MC rows, each op(B) panel is packed just before the tiles use it (it stays
 * in L1) instead of packing the whole block first.
 *
 * The packing handles every transpose case with SIMD loads, 4 x 4 transposes and stores, so forward
 * and both backward products run the same micro-kernels. Packed panels are zero-padded, so edge
 * tiles compute a full tile and store only the part that exists.
 *
 * Every element of C is computed the same way whatever the tiling, the panel order or the split of
 * the work over threads: per KC-slice of K (in order), a multiply-add chain over k from zero, then
 * C += alpha · chain. A caller may pack op(A) once for many products with the same A (the
 * convolutions' weights, `gemmPackA`) and pass it as `packedA`.
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

/** Number of 6-row tiles covering a block of mc rows (the rest is at most two 4-row tiles). */
// @ts-ignore: decorator
@inline function sixes(mc: i32): i32 {
  const q = mc / 6;
  const r = mc - q * 6;
  if (r == 0 || r == 3 || r == 4) return q;
  if (r == 5) return q + 1;
  return q > 0 ? q - 1 : 0;
}

/** Rows of a packed block of mc rows, padding included. */
function tileRows(mc: i32): i32 {
  const s = sixes(mc);
  const rest = mc - 6 * s;
  return 6 * s + (rest <= 0 ? 0 : (rest + 3) & ~3);
}

/** Rows of the whole packed op(A) of M rows (full MC blocks, then the padded last one). */
function paddedRows(M: i32): i32 {
  const full = M / MC;
  return full * MC + tileRows(M - full * MC);
}

/** Bytes `gemmPackA` writes for op(A) [M, K]. */
export function gemmPackedABytes(M: i32, K: i32): i32 {
  return (paddedRows(M) * K) << 2;
}

/**
 * Packs all of op(A) [M, K] for `gemmWithPackedA`: the block of rows ic.. and K-slice pc.. at
 * float offset pc · paddedRows(M) + ic · kc.
 */
export function gemmPackA(transA: i32, M: i32, K: i32, a: usize, lda: i32, dst: usize): void {
  const Mp = paddedRows(M);
  for (let pc = 0; pc < K; pc += KC) {
    const kc = min(KC, K - pc);
    for (let ic = 0; ic < M; ic += MC) {
      packABlock(transA, a, lda, ic, pc, min(MC, M - ic), kc, dst + (((pc * Mp) + ic * kc) << 2));
    }
  }
}

export function gemm(
  transA: i32, transB: i32, M: i32, N: i32, K: i32, alpha: f32,
  a: usize, lda: i32, b: usize, ldb: i32, beta: f32, c: usize, ldc: i32, pack: usize,
): void {
  gemmWithPackedA(transA, transB, M, N, K, alpha, a, lda, b, ldb, beta, c, ldc, pack, 0);
}

/** `gemm`, with op(A) already packed by `gemmPackA` at `packedA` (0: pack it here). */
export function gemmWithPackedA(
  transA: i32, transB: i32, M: i32, N: i32, K: i32, alpha: f32,
  a: usize, lda: i32, b: usize, ldb: i32, beta: f32, c: usize, ldc: i32, pack: usize, packedA: usize,
): void {
  scaleC(M, N, beta, c, ldc);
  if (M == 0 || N == 0 || K == 0 || alpha == 0) return;
  const packA = pack;
  const packB = pack + ((MC * KC) << 2);
  const Mp = paddedRows(M);
  for (let jc = 0; jc < N; jc += NC) {
    const nc = min(NC, N - jc);
    for (let pc = 0; pc < K; pc += KC) {
      const kc = min(KC, K - pc);
      if (M <= MC) {
        // one block of rows: pack each B panel just before its tiles (it stays in L1)
        let pa = packA;
        if (packedA) pa = packedA + ((pc * Mp) << 2);
        else packABlock(transA, a, lda, 0, pc, M, kc, packA);
        for (let jr = 0; jr < nc; jr += NR) {
          const nn = min(NR, nc - jr);
          packBPanel(transB, b, ldb, pc, jc + jr, kc, nn, packB);
          tiles(pa, packB, kc, alpha, c + ((jc + jr) << 2), ldc, M, nn);
        }
        continue;
      }
      for (let jr = 0; jr < nc; jr += NR) {
        packBPanel(transB, b, ldb, pc, jc + jr, kc, min(NR, nc - jr), packB + ((jr * kc) << 2));
      }
      for (let ic = 0; ic < M; ic += MC) {
        const mc = min(MC, M - ic);
        let pa = packA;
        if (packedA) pa = packedA + (((pc * Mp) + ic * kc) << 2);
        else packABlock(transA, a, lda, ic, pc, mc, kc, packA);
        const ci = c + ((ic * ldc) << 2);
        for (let jr = 0; jr < nc; jr += NR) {
          tiles(pa, packB + ((jr * kc) << 2), kc, alpha, ci + ((jc + jr) << 2), ldc, mc, min(NR, nc - jr));
        }
      }
    }
  }
}

/** C[0:mc, 0:nn] += alpha · Ablock[mc, kc] · Bpanel[kc, 8]: 6-row tiles, then 4-row tiles. */
function tiles(pa: usize, pb: usize, kc: i32, alpha: f32, c: usize, ldc: i32, mc: i32, nn: i32): void {
  const end6 = 6 * sixes(mc);
  let ir = 0;
  for (; ir < end6; ir += MR) {
    microKernel6(pa + ((ir * kc) << 2), pb, kc, alpha, c + ((ir * ldc) << 2), ldc, min(MR, mc - ir), nn);
  }
  for (; ir < mc; ir += 4) {
    microKernel4(pa + ((ir * kc) << 2), pb, kc, alpha, c + ((ir * ldc) << 2), ldc, min(4, mc - ir), nn);
  }
}

/** C <- beta · C (beta 0 writes zeros, so C may hold anything, NaN included). */
function scaleC(M: i32, N: i32, beta: f32, c: usize, ldc: i32): void {
  if (beta == 1) return;
  const bv = f32x4.splat(beta);
  for (let i = 0; i < M; i++) {
    const row = c + ((i * ldc) << 2);
    if (beta == 0) {
      // a loop, not memory.fill: that is a call out of the module in V8, slow for short rows
      const z = f32x4.splat(0);
      let j = 0;
      for (; j + 4 <= N; j += 4) v128.store(row + (j << 2), z);
      for (; j < N; j++) store<f32>(row + (j << 2), 0);
      continue;
    }
    let j = 0;
    for (; j + 4 <= N; j += 4) v128.store(row + (j << 2), f32x4.mul(v128.load(row + (j << 2)), bv));
    for (; j < N; j++) store<f32>(row + (j << 2), load<f32>(row + (j << 2)) * beta);
  }
}

// 4 x 4 transposes: rows r0..r3 (4 consecutive k each) to columns (4 rows each, one per k).
// @ts-ignore: decorator
@inline function lo01(x: v128, y: v128): v128 { return f32x4.shuffle(x, y, 0, 4, 1, 5); }
// @ts-ignore: decorator
@inline function hi01(x: v128, y: v128): v128 { return f32x4.shuffle(x, y, 2, 6, 3, 7); }
// @ts-ignore: decorator
@inline function lo64(x: v128, y: v128): v128 { return f32x4.shuffle(x, y, 0, 1, 4, 5); }
// @ts-ignore: decorator
@inline function hi64(x: v128, y: v128): v128 { return f32x4.shuffle(x, y, 2, 3, 6, 7); }

/**
 * Stores the 4 x 4 transpose of rows r0..r3 at out, out + stride, out + 2·stride, out + 3·stride
 * (bytes): the vector at out + q·stride holds element q of each row.
 */
// @ts-ignore: decorator
@inline function storeTransposed(out: usize, stride: usize, r0: v128, r1: v128, r2: v128, r3: v128): void {
  const t0 = lo01(r0, r1), t1 = lo01(r2, r3), t2 = hi01(r0, r1), t3 = hi01(r2, r3);
  v128.store(out, lo64(t0, t1));
  v128.store(out + stride, hi64(t0, t1));
  v128.store(out + 2 * stride, lo64(t2, t3));
  v128.store(out + 3 * stride, hi64(t2, t3));
}

/** op(B)[pc:pc+kc, j0:j0+nn] as one panel of NR columns (zero-padded): row k at (k·NR). */
function packBPanel(transB: i32, b: usize, ldb: i32, pc: i32, j0: i32, kc: i32, nn: i32, out: usize): void {
  if (!transB) {
    let src = b + ((pc * ldb + j0) << 2);
    const step = (ldb << 2) as usize;
    if (nn == NR) {
      for (let k = 0; k < kc; k++) {
        v128.store(out, v128.load(src));
        v128.store(out, v128.load(src, 16), 16);
        src += step;
        out += NR << 2;
      }
    } else {
      for (let k = 0; k < kc; k++) {
        for (let j = 0; j < NR; j++) store<f32>(out + (j << 2), j < nn ? load<f32>(src + (j << 2)) : 0);
        src += step;
        out += NR << 2;
      }
    }
    return;
  }
  // op(B) = Bᵀ: column j of the panel is row j0 + j of B, contiguous in k
  const src = b + ((j0 * ldb + pc) << 2);
  const ld = (ldb << 2) as usize;
  if (nn == NR) {
    let k = 0;
    for (; k + 4 <= kc; k += 4) {
      const s = src + (k << 2);
      const o = out + ((k * NR) << 2);
      storeTransposed(o, NR << 2, v128.load(s), v128.load(s + ld), v128.load(s + 2 * ld), v128.load(s + 3 * ld));
      storeTransposed(o + 16, NR << 2, v128.load(s + 4 * ld), v128.load(s + 5 * ld), v128.load(s + 6 * ld), v128.load(s + 7 * ld));
    }
    for (; k < kc; k++) {
      const o = out + ((k * NR) << 2);
      for (let j = 0; j < NR; j++) store<f32>(o + (j << 2), load<f32>(src + <usize>j * ld + (k << 2)));
    }
    return;
  }
  for (let k = 0; k < kc; k++) {
    const o = out + ((k * NR) << 2);
    for (let j = 0; j < NR; j++) store<f32>(o + (j << 2), j < nn ? load<f32>(src + <usize>j * ld + (k << 2)) : 0);
  }
}

/**
 * op(A)[ic:ic+mc, pc:pc+kc] into row panels (6-row tiles, then 4-row ones, as `tiles` runs them):
 * the panel of rows ir.. starts at float ir·kc and holds column k at k·height.
 */
function packABlock(transA: i32, a: usize, lda: i32, ic: i32, pc: i32, mc: i32, kc: i32, dst: usize): void {
  const end6 = 6 * sixes(mc);
  let ir = 0;
  for (; ir < end6; ir += MR) packAPanel(transA, a, lda, ic + ir, pc, min(MR, mc - ir), MR, kc, dst + ((ir * kc) << 2));
  for (; ir < mc; ir += 4) packAPanel(transA, a, lda, ic + ir, pc, min(4, mc - ir), 4, kc, dst + ((ir * kc) << 2));
}

/** op(A)[i0:i0+mm, pc:pc+kc] as one panel of h rows (6 or 4; zero-padded past mm). */
function packAPanel(transA: i32, a: usize, lda: i32, i0: i32, pc: i32, mm: i32, h: i32, kc: i32, out: usize): void {
  const ld = (lda << 2) as usize;
  if (transA) {
    // op(A) = Aᵀ: column k of the panel is row pc + k of A, contiguous in i
    let src = a + ((pc * lda + i0) << 2);
    if (mm == h) {
      if (h == 4) {
        for (let k = 0; k < kc; k++) { v128.store(out, v128.load(src)); src += ld; out += 16; }
      } else {
        for (let k = 0; k < kc; k++) {
          v128.store(out, v128.load(src));
          store<u64>(out, load<u64>(src, 16), 16);
          src += ld;
          out += 24;
        }
      }
    } else {
      for (let k = 0; k < kc; k++) {
        for (let i = 0; i < h; i++) store<f32>(out + (i << 2), i < mm ? load<f32>(src + (i << 2)) : 0);
        src += ld;
        out += h << 2;
      }
    }
    return;
  }
  // row i of the panel is row i0 + i of A, contiguous in k
  const src = a + ((i0 * lda + pc) << 2);
  const stride = (h << 2) as usize;
  let k = 0;
  if (mm == h) {
    for (; k + 4 <= kc; k += 4) {
      const s = src + (k << 2);
      const o = out + ((k * h) << 2);
      storeTransposed(o, stride, v128.load(s), v128.load(s + ld), v128.load(s + 2 * ld), v128.load(s + 3 * ld));
      if (h == 6) {
        const r4 = v128.load(s + 4 * ld), r5 = v128.load(s + 5 * ld);
        const l = lo01(r4, r5), u = hi01(r4, r5);
        v128.store64_lane(o, l, 0, 16);
        v128.store64_lane(o + stride, l, 1, 16);
        v128.store64_lane(o + 2 * stride, u, 0, 16);
        v128.store64_lane(o + 3 * stride, u, 1, 16);
      }
    }
  }
  for (; k < kc; k++) {
    const o = out + ((k * h) << 2);
    for (let i = 0; i < h; i++) store<f32>(o + (i << 2), i < mm ? load<f32>(src + <usize>i * ld + (k << 2)) : 0);
  }
}

/**
 * Scratch for an edge tile's results (up to 6 x 8 floats), one per instance: the threads share one
 * linear memory, so each thread's instance is given its own address (core/wasm/kernels.ts).
 */
let edge: usize = 0;

export const EDGE_SCRATCH_BYTES: i32 = MR * NR * 4;

export function setEdgeScratch(at: usize): void {
  edge = at;
}

/** C[0:mm, 0:nn] += the first mm rows and nn columns of the tile in `edge` (already times alpha). */
function addEdge(c: usize, ldc: i32, mm: i32, nn: i32): void {
  for (let i = 0; i < mm; i++) {
    const row = c + ((i * ldc) << 2);
    const e = edge + ((i * NR) << 2);
    if (nn == NR) {
      v128.store(row, f32x4.add(v128.load(row), v128.load(e)));
      v128.store(row, f32x4.add(v128.load(row, 16), v128.load(e, 16)), 16);
      continue;
    }
    for (let j = 0; j < nn; j++) {
      const p = row + (j << 2);
      store<f32>(p, load<f32>(p) + load<f32>(e + (j << 2)));
    }
  }
}

/** C[0:mm, 0:nn] += alpha · Apanel[6, kc] · Bpanel[kc, 8]. */
function microKernel6(pa: usize, pb: usize, kc: i32, alpha: f32, c: usize, ldc: i32, mm: i32, nn: i32): void {
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
  store6(c, ldc, mm, nn, f32x4.splat(alpha), c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51);
}

/** C[0:mm, 0:nn] += al · the 6 x 8 tile c00..c51. */
// @ts-ignore: decorator
@inline function store6(c: usize, ldc: i32, mm: i32, nn: i32, al: v128, c00: v128, c01: v128, c10: v128, c11: v128,
  c20: v128, c21: v128, c30: v128, c31: v128, c40: v128, c41: v128, c50: v128, c51: v128): void {
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
  addEdge(c, ldc, mm, nn);
}

/** C[0:mm, 0:nn] += alpha · Apanel[4, kc] · Bpanel[kc, 8]. */
function microKernel4(pa: usize, pb: usize, kc: i32, alpha: f32, c: usize, ldc: i32, mm: i32, nn: i32): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
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
    pa += 16;
    pb += NR << 2;
  }
  store4(c, ldc, mm, nn, f32x4.splat(alpha), c00, c01, c10, c11, c20, c21, c30, c31);
}

/** C[0:mm, 0:nn] += al · the 4 x 8 tile c00..c31. */
// @ts-ignore: decorator
@inline function store4(c: usize, ldc: i32, mm: i32, nn: i32, al: v128, c00: v128, c01: v128, c10: v128, c11: v128,
  c20: v128, c21: v128, c30: v128, c31: v128): void {
  if (mm == 4 && nn == NR) {
    addRow(c, al, c00, c01);
    addRow(c + ((ldc) << 2), al, c10, c11);
    addRow(c + ((2 * ldc) << 2), al, c20, c21);
    addRow(c + ((3 * ldc) << 2), al, c30, c31);
    return;
  }
  v128.store(edge, f32x4.mul(c00, al)); v128.store(edge, f32x4.mul(c01, al), 16);
  v128.store(edge, f32x4.mul(c10, al), 32); v128.store(edge, f32x4.mul(c11, al), 48);
  v128.store(edge, f32x4.mul(c20, al), 64); v128.store(edge, f32x4.mul(c21, al), 80);
  v128.store(edge, f32x4.mul(c30, al), 96); v128.store(edge, f32x4.mul(c31, al), 112);
  addEdge(c, ldc, mm, nn);
}

/**
 * Implicit GEMM over one B panel that is not packed: C[0:M, 0:nn] += alpha · op(A) · B, with op(A)
 * packed by `gemmPackA` and row k of B (8 floats) at base + offsets[k], its last 4 at base1 +
 * offsets[k] (i32 byte offsets; base1 = base + 16 where the 8 floats are contiguous). Every
 * element of C is summed as in `gemm` (per KC-slice, in order), so the numbers are those of `gemm`
 * on the materialised B.
 */
export function gemmIndirectPanel(M: i32, K: i32, alpha: f32, packedA: usize, offsets: usize, base: usize, base1: usize,
  c: usize, ldc: i32, nn: i32): void {
  const Mp = paddedRows(M);
  for (let pc = 0; pc < K; pc += KC) {
    const kc = min(KC, K - pc);
    for (let ic = 0; ic < M; ic += MC) {
      const mc = min(MC, M - ic);
      const pa = packedA + (((pc * Mp) + ic * kc) << 2);
      const ci = c + ((ic * ldc) << 2);
      const offs = offsets + (pc << 2);
      const end6 = 6 * sixes(mc);
      let ir = 0;
      for (; ir < end6; ir += MR) {
        microKernel6i(pa + ((ir * kc) << 2), offs, base, base1, kc, alpha, ci + ((ir * ldc) << 2), ldc, min(MR, mc - ir), nn);
      }
      for (; ir < mc; ir += 4) {
        microKernel4i(pa + ((ir * kc) << 2), offs, base, base1, kc, alpha, ci + ((ir * ldc) << 2), ldc, min(4, mc - ir), nn);
      }
    }
  }
}

/** `microKernel6` with row k of the B panel at base + offsets[k]. */
function microKernel6i(pa: usize, offs: usize, base: usize, base1: usize, kc: i32, alpha: f32, c: usize, ldc: i32, mm: i32, nn: i32): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  let c40 = f32x4.splat(0), c41 = f32x4.splat(0);
  let c50 = f32x4.splat(0), c51 = f32x4.splat(0);
  for (let k = 0; k < kc; k++) {
    const o = <usize>load<i32>(offs);
    const b0 = v128.load(base + o);
    const b1 = v128.load(base1 + o);
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
    offs += 4;
  }
  store6(c, ldc, mm, nn, f32x4.splat(alpha), c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51);
}

/** `microKernel4` with row k of the B panel at base + offsets[k]. */
function microKernel4i(pa: usize, offs: usize, base: usize, base1: usize, kc: i32, alpha: f32, c: usize, ldc: i32, mm: i32, nn: i32): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  for (let k = 0; k < kc; k++) {
    const o = <usize>load<i32>(offs);
    const b0 = v128.load(base + o);
    const b1 = v128.load(base1 + o);
    let a = v128.load32_splat(pa);
    c00 = f32x4.relaxed_madd(a, b0, c00); c01 = f32x4.relaxed_madd(a, b1, c01);
    a = v128.load32_splat(pa, 4);
    c10 = f32x4.relaxed_madd(a, b0, c10); c11 = f32x4.relaxed_madd(a, b1, c11);
    a = v128.load32_splat(pa, 8);
    c20 = f32x4.relaxed_madd(a, b0, c20); c21 = f32x4.relaxed_madd(a, b1, c21);
    a = v128.load32_splat(pa, 12);
    c30 = f32x4.relaxed_madd(a, b0, c30); c31 = f32x4.relaxed_madd(a, b1, c31);
    pa += 16;
    offs += 4;
  }
  store4(c, ldc, mm, nn, f32x4.splat(alpha), c00, c01, c10, c11, c20, c21, c30, c31);
}

/**
 * Implicit GEMM for a convolution's filter gradient, rows r0..r1 of im2col:
 *
 *   C[o, r] += alpha · Σ_p cols[r, p] · dy[o, p],   o < O, p < P,
 *
 * without materialising cols: element p of row r lies at planes + offsets[r] + rowStride·(p / Wo)
 * + 4·(p % Wo) (bytes; the stride-phase planes of conv.ts). dyᵀ is packed in panels of 8 output
 * channels, and a tile is 6 (or 4) im2col rows x 8 channels, the rows' floats splatted from the
 * planes; it is added to C [O, ldc] transposed. Every element is summed as by
 * `gemm(0, 1, O, r1 − r0, P, alpha, dy, P, cols[r0:], P, 1, C[:, r0:], ldc)` (per KC-slice of p, in
 * order, a multiply-add chain from zero, then C += alpha · chain), so the numbers are the same.
 */
export function gemmFilterPlanes(O: i32, P: i32, Wo: i32, r0: i32, r1: i32, alpha: f32, dy: usize,
  planes: usize, offsets: usize, rowStride: i32, c: usize, ldc: i32, pack: usize): void {
  const mc = r1 - r0;
  if (mc <= 0 || O == 0 || P == 0 || alpha == 0) return;
  const end6 = 6 * sixes(mc);
  for (let pc = 0; pc < P; pc += KC) {
    const kc = min(KC, P - pc);
    for (let o0 = 0; o0 < O; o0 += NR) {
      const nn = min(NR, O - o0);
      packBPanel(1, dy, P, pc, o0, kc, nn, pack);
      const co = c + ((o0 * ldc + r0) << 2);
      const offs = offsets + (r0 << 2);
      let ir = 0;
      for (; ir < end6; ir += MR) {
        filterKernel6(offs + (ir << 2), min(MR, mc - ir), planes, pc, kc, Wo, rowStride, pack, alpha, co + (ir << 2), ldc, nn);
      }
      for (; ir < mc; ir += 4) {
        filterKernel4(offs + (ir << 2), min(4, mc - ir), planes, pc, kc, Wo, rowStride, pack, alpha, co + (ir << 2), ldc, nn);
      }
    }
  }
}

/** C[j, i] += the tile in `edge` (row i < mm, column j < nn): a tile of rows r stored into C [o, r]. */
function addEdgeTransposed(c: usize, ldc: i32, mm: i32, nn: i32): void {
  for (let j = 0; j < nn; j++) {
    const row = c + ((j * ldc) << 2);
    for (let i = 0; i < mm; i++) {
      const p = row + (i << 2);
      store<f32>(p, load<f32>(p) + load<f32>(edge + (((i * NR) + j) << 2)));
    }
  }
}

/** One 6 x 8 tile of `gemmFilterPlanes`: im2col rows at offs[0..mm) (padding rows repeat row 0). */
function filterKernel6(offs: usize, mm: i32, planes: usize, p0: i32, kc: i32, Wo: i32, rowStride: i32, pb: usize,
  alpha: f32, c: usize, ldc: i32, nn: i32): void {
  const q0 = load<i32>(offs);
  const q1 = mm > 1 ? load<i32>(offs, 4) : q0;
  const q2 = mm > 2 ? load<i32>(offs, 8) : q0;
  const q3 = mm > 3 ? load<i32>(offs, 12) : q0;
  const q4 = mm > 4 ? load<i32>(offs, 16) : q0;
  const q5 = mm > 5 ? load<i32>(offs, 20) : q0;
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  let c40 = f32x4.splat(0), c41 = f32x4.splat(0);
  let c50 = f32x4.splat(0), c51 = f32x4.splat(0);
  let oy = p0 / Wo;
  let ox = p0 - oy * Wo;
  let left = kc;
  while (left > 0) {
    const len = min(Wo - ox, left);
    const row = planes + <usize>(oy * rowStride + (ox << 2));
    let a0 = row + <usize>q0, a1 = row + <usize>q1, a2 = row + <usize>q2;
    let a3 = row + <usize>q3, a4 = row + <usize>q4, a5 = row + <usize>q5;
    for (let t = 0; t < len; t++) {
      const b0 = v128.load(pb);
      const b1 = v128.load(pb, 16);
      let a = v128.load32_splat(a0);
      c00 = f32x4.relaxed_madd(a, b0, c00); c01 = f32x4.relaxed_madd(a, b1, c01);
      a = v128.load32_splat(a1);
      c10 = f32x4.relaxed_madd(a, b0, c10); c11 = f32x4.relaxed_madd(a, b1, c11);
      a = v128.load32_splat(a2);
      c20 = f32x4.relaxed_madd(a, b0, c20); c21 = f32x4.relaxed_madd(a, b1, c21);
      a = v128.load32_splat(a3);
      c30 = f32x4.relaxed_madd(a, b0, c30); c31 = f32x4.relaxed_madd(a, b1, c31);
      a = v128.load32_splat(a4);
      c40 = f32x4.relaxed_madd(a, b0, c40); c41 = f32x4.relaxed_madd(a, b1, c41);
      a = v128.load32_splat(a5);
      c50 = f32x4.relaxed_madd(a, b0, c50); c51 = f32x4.relaxed_madd(a, b1, c51);
      a0 += 4; a1 += 4; a2 += 4; a3 += 4; a4 += 4; a5 += 4;
      pb += NR << 2;
    }
    left -= len;
    ox = 0;
    oy++;
  }
  const al = f32x4.splat(alpha);
  v128.store(edge, f32x4.mul(c00, al)); v128.store(edge, f32x4.mul(c01, al), 16);
  v128.store(edge, f32x4.mul(c10, al), 32); v128.store(edge, f32x4.mul(c11, al), 48);
  v128.store(edge, f32x4.mul(c20, al), 64); v128.store(edge, f32x4.mul(c21, al), 80);
  v128.store(edge, f32x4.mul(c30, al), 96); v128.store(edge, f32x4.mul(c31, al), 112);
  v128.store(edge, f32x4.mul(c40, al), 128); v128.store(edge, f32x4.mul(c41, al), 144);
  v128.store(edge, f32x4.mul(c50, al), 160); v128.store(edge, f32x4.mul(c51, al), 176);
  addEdgeTransposed(c, ldc, mm, nn);
}

/** One 4 x 8 tile of `gemmFilterPlanes`. */
function filterKernel4(offs: usize, mm: i32, planes: usize, p0: i32, kc: i32, Wo: i32, rowStride: i32, pb: usize,
  alpha: f32, c: usize, ldc: i32, nn: i32): void {
  const q0 = load<i32>(offs);
  const q1 = mm > 1 ? load<i32>(offs, 4) : q0;
  const q2 = mm > 2 ? load<i32>(offs, 8) : q0;
  const q3 = mm > 3 ? load<i32>(offs, 12) : q0;
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  let oy = p0 / Wo;
  let ox = p0 - oy * Wo;
  let left = kc;
  while (left > 0) {
    const len = min(Wo - ox, left);
    const row = planes + <usize>(oy * rowStride + (ox << 2));
    let a0 = row + <usize>q0, a1 = row + <usize>q1, a2 = row + <usize>q2, a3 = row + <usize>q3;
    for (let t = 0; t < len; t++) {
      const b0 = v128.load(pb);
      const b1 = v128.load(pb, 16);
      let a = v128.load32_splat(a0);
      c00 = f32x4.relaxed_madd(a, b0, c00); c01 = f32x4.relaxed_madd(a, b1, c01);
      a = v128.load32_splat(a1);
      c10 = f32x4.relaxed_madd(a, b0, c10); c11 = f32x4.relaxed_madd(a, b1, c11);
      a = v128.load32_splat(a2);
      c20 = f32x4.relaxed_madd(a, b0, c20); c21 = f32x4.relaxed_madd(a, b1, c21);
      a = v128.load32_splat(a3);
      c30 = f32x4.relaxed_madd(a, b0, c30); c31 = f32x4.relaxed_madd(a, b1, c31);
      a0 += 4; a1 += 4; a2 += 4; a3 += 4;
      pb += NR << 2;
    }
    left -= len;
    ox = 0;
    oy++;
  }
  const al = f32x4.splat(alpha);
  v128.store(edge, f32x4.mul(c00, al)); v128.store(edge, f32x4.mul(c01, al), 16);
  v128.store(edge, f32x4.mul(c10, al), 32); v128.store(edge, f32x4.mul(c11, al), 48);
  v128.store(edge, f32x4.mul(c20, al), 64); v128.store(edge, f32x4.mul(c21, al), 80);
  v128.store(edge, f32x4.mul(c30, al), 96); v128.store(edge, f32x4.mul(c31, al), 112);
  addEdgeTransposed(c, ldc, mm, nn);
}

// @ts-ignore: decorator
@inline function addRow(row: usize, al: v128, lo: v128, hi: v128): void {
  v128.store(row, f32x4.add(v128.load(row), f32x4.mul(lo, al)));
  v128.store(row, f32x4.add(v128.load(row, 16), f32x4.mul(hi, al)), 16);
}
