/**
 * Conv2d (zero padding, no dilation or groups) as im2col + GEMM, in WebAssembly: the same
 * algorithm and summation order as the cpu kernels of core/kernels/conv.ts, on operands in this
 * module's linear memory (byte addresses). Per image n, with P = Ho·Wo and CK = C·kh·kw:
 *
 *   forward:  cols = im2col(x[n]) [CK, P];   y[n] = w [O, CK] · cols (+ b)
 *   dW:       dw[:, r0:r1] += dy[n] · cols[r0:r1, :]ᵀ        (rows r0..r1 of cols only: threads split them)
 *   dX:       dx[n] += col2im(wᵀ · dy[n])
 *
 * A 1x1 convolution with stride 1 and no padding skips im2col: cols is x[n] itself. The forward
 * of other convolutions with output rows at least 8 (or exactly 4) wide skips im2col too (an
 * implicit GEMM): the image is copied, zero-padded and split by stride phase (`phasePlanes`, a few
 * percent of im2col's size), and the GEMM reads each 8-output B panel row where it lies in those
 * planes (two 4-wide rows when Wo = 4), through a table of CK offsets; the sums are the same, so
 * are the numbers. dW does the same the other way round (`gemmFilterPlanes`: im2col rows splatted
 * from the planes, dy[n]ᵀ packed). The weights
 * are packed for the GEMM once per call (at `packedW`, `gemmPackedABytes(O, CK)` bytes), not once per
 * image; the numbers are those of a plain `gemm` call per image.
 */
import { gemm, gemmFilterPlanes, gemmIndirectPanel, gemmPackA, gemmWithPackedA } from './gemm';

/**
 * Output columns ox in [insideFrom, insideTo) read input column ox·sw − pw + j inside [0, W):
 * ox ≥ ceil((pw − j) / sw) and ox ≤ floor((W − 1 + pw − j) / sw), clamped to [0, Wo).
 */
function insideFrom(lead: i32, sw: i32, Wo: i32): i32 {
  return lead <= 0 ? 0 : min(Wo, (lead + sw - 1) / sw);
}
function insideTo(last: i32, sw: i32, Wo: i32, from: i32): i32 {
  return last < 0 ? from : max(from, min(Wo, last / sw + 1));
}

/**
 * Short runs of floats are zeroed, copied and added with SIMD loops here: memory.fill and
 * memory.copy are calls out of the module in V8, which cost more than the few floats of a row.
 */
// @ts-ignore: decorator
@inline function zeroFloats(dst: usize, n: i32): void {
  const z = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(dst + (i << 2), z);
  for (; i < n; i++) store<f32>(dst + (i << 2), 0);
}

// @ts-ignore: decorator
@inline function copyFloats(dst: usize, src: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(dst + (i << 2), v128.load(src + (i << 2)));
  for (; i < n; i++) store<f32>(dst + (i << 2), load<f32>(src + (i << 2)));
}

/** im2col rows r0..r1 of image x [C, H, W] into cols [(r1 − r0), Ho·Wo]. */
function im2colRows(x: usize, H: i32, W: i32, kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32,
  Ho: i32, Wo: i32, r0: i32, r1: i32, cols: usize): void {
  const P = Ho * Wo;
  for (let r = r0; r < r1; r++) {
    const c = r / (kh * kw);
    const i = (r / kw) % kh;
    const j = r % kw;
    const row = cols + (((r - r0) * P) << 2);
    const oxLo = insideFrom(pw - j, sw, Wo);
    const oxHi = insideTo(W - 1 + pw - j, sw, Wo, oxLo);
    for (let oy = 0; oy < Ho; oy++) {
      const y = oy * sh - ph + i;
      const dst = row + ((oy * Wo) << 2);
      if (y < 0 || y >= H) {
        zeroFloats(dst, Wo);
        continue;
      }
      const src = x + (((c * H + y) * W) << 2);
      zeroFloats(dst, oxLo);
      if (sw == 1) {
        copyFloats(dst + (oxLo << 2), src + ((oxLo - pw + j) << 2), oxHi - oxLo);
      } else {
        let ox = oxLo;
        if (sw == 2) {
          // even lanes of two loads; the loop's last load ends before the next column read
          for (; ox + 4 < oxHi; ox += 4) {
            const s = src + ((ox * 2 - pw + j) << 2);
            v128.store(dst + (ox << 2), f32x4.shuffle(v128.load(s), v128.load(s, 16), 0, 2, 4, 6));
          }
        }
        for (; ox < oxHi; ox++) store<f32>(dst + (ox << 2), load<f32>(src + ((ox * sw - pw + j) << 2)));
      }
      zeroFloats(dst + (oxHi << 2), Wo - oxHi);
    }
  }
}

/** dx [C, H, W] += col2im(cols [CK, Ho·Wo]); every element receives its terms in the order of r, oy. */
function col2imAdd(cols: usize, C: i32, H: i32, W: i32, kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32,
  Ho: i32, Wo: i32, dx: usize): void {
  const P = Ho * Wo;
  const CK = C * kh * kw;
  for (let r = 0; r < CK; r++) {
    const c = r / (kh * kw);
    const i = (r / kw) % kh;
    const j = r % kw;
    const row = cols + ((r * P) << 2);
    const oxLo = insideFrom(pw - j, sw, Wo);
    const oxHi = insideTo(W - 1 + pw - j, sw, Wo, oxLo);
    for (let oy = 0; oy < Ho; oy++) {
      const y = oy * sh - ph + i;
      if (y < 0 || y >= H) continue;
      const dst = dx + (((c * H + y) * W) << 2);
      const src = row + ((oy * Wo) << 2);
      let ox = oxLo;
      if (sw == 1) {
        const d = dst + ((j - pw) << 2);
        for (; ox + 4 <= oxHi; ox += 4) {
          const p = d + (ox << 2);
          v128.store(p, f32x4.add(v128.load(p), v128.load(src + (ox << 2))));
        }
      } else if (sw == 2) {
        // add into the even lanes of two vectors, keep the odd ones as they are; the loop's last
        // vector ends before the next column written
        for (; ox + 4 < oxHi; ox += 4) {
          const p = dst + ((ox * 2 - pw + j) << 2);
          const v = v128.load(src + (ox << 2));
          const d0 = v128.load(p), d1 = v128.load(p, 16);
          const s0 = f32x4.add(d0, f32x4.shuffle(v, v, 0, 0, 1, 1));
          const s1 = f32x4.add(d1, f32x4.shuffle(v, v, 2, 2, 3, 3));
          v128.store(p, f32x4.shuffle(s0, d0, 0, 5, 2, 7));
          v128.store(p, f32x4.shuffle(s1, d1, 0, 5, 2, 7), 16);
        }
      }
      for (; ox < oxHi; ox++) {
        const p = dst + ((ox * sw - pw + j) << 2);
        store<f32>(p, load<f32>(p) + load<f32>(src + (ox << 2)));
      }
    }
  }
}

/** dW runs the implicit GEMM where output rows are at least this wide (at 4 it measured slower than im2col). */
const MIN_FILTER_WO = 8;

function isDirect(kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32): bool {
  return kh == 1 && kw == 1 && sh == 1 && sw == 1 && ph == 0 && pw == 0;
}

/** y [count, O, Ho, Wo] = conv(x [count, C, H, W], w [O, C, kh, kw]) (+ b [O] if hasBias). */
export function convForward(x: usize, w: usize, b: usize, hasBias: i32, count: i32,
  C: i32, H: i32, W: i32, O: i32, kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, Ho: i32, Wo: i32,
  y: usize, cols: usize, pack: usize, packedW: usize): void {
  const P = Ho * Wo;
  const CK = C * kh * kw;
  const direct = isDirect(kh, kw, sh, sw, ph, pw);
  if (count > 0) gemmPackA(0, O, CK, w, CK, packedW);
  // Implicit GEMM (no im2col, no B packing) where output rows are at least one 8-wide panel (or
  // exactly half of one) and the planes and their offset table fit in the im2col scratch.
  const Hp = (Ho - 1) * sh + kh;
  const Wq = ((Wo + 7) & ~7) + (kw - 1) / sw;
  const planeFloats = sw * C * Hp * Wq;
  const implicit = !direct && (Wo >= 8 || Wo == 4) && planeFloats + CK <= CK * P;
  const offsets = cols + (planeFloats << 2);
  if (implicit) planeOffsets(C, kh, kw, sw, Hp, Wq, offsets);
  for (let n = 0; n < count; n++) {
    const xn = x + ((n * C * H * W) << 2);
    const yn = y + ((n * O * P) << 2);
    if (hasBias) {
      for (let o = 0; o < O; o++) {
        const v = load<f32>(b + (o << 2));
        const vv = f32x4.splat(v);
        const row = yn + ((o * P) << 2);
        let p = 0;
        for (; p + 4 <= P; p += 4) v128.store(row + (p << 2), vv);
        for (; p < P; p++) store<f32>(row + (p << 2), v);
      }
    }
    if (implicit) {
      if (!hasBias) zeroFloats(yn, O * P);
      phasePlanes(xn, C, H, W, sw, ph, pw, Hp, Wq, cols);
      if (Wo >= 8) {
        for (let oy = 0; oy < Ho; oy++) {
          for (let ox = 0; ox < Wo; ox += 8) {
            const base = cols + (((oy * sh * Wq) + ox) << 2);
            gemmIndirectPanel(O, CK, 1, packedW, offsets, base, base + 16, yn + (((oy * Wo) + ox) << 2), P, min(8, Wo - ox));
          }
        }
      } else {
        // Wo = 4: a panel is two output rows
        for (let oy = 0; oy < Ho; oy += 2) {
          const base = cols + ((oy * sh * Wq) << 2);
          const base1 = oy + 1 < Ho ? base + ((sh * Wq) << 2) : base + 16;
          gemmIndirectPanel(O, CK, 1, packedW, offsets, base, base1, yn + ((oy * Wo) << 2), P, min(8, P - oy * Wo));
        }
      }
      continue;
    }
    let src = xn;
    if (!direct) {
      im2colRows(xn, H, W, kh, kw, sh, sw, ph, pw, Ho, Wo, 0, CK, cols);
      src = cols;
    }
    gemmWithPackedA(0, 0, O, P, CK, 1, w, CK, src, P, hasBias ? 1 : 0, yn, P, pack, packedW);
  }
}

/** Byte offset in the planes of each im2col row r = (c, i, j), output (0, 0): plane j % sw, row i, column j / sw. */
function planeOffsets(C: i32, kh: i32, kw: i32, sw: i32, Hp: i32, Wq: i32, out: usize): void {
  const CK = C * kh * kw;
  for (let r = 0; r < CK; r++) {
    const c = r / (kh * kw), i = (r / kw) % kh, j = r % kw;
    store<i32>(out + (r << 2), (((((j % sw) * C + c) * Hp) + i) * Wq + j / sw) << 2);
  }
}

/**
 * The zero-padded image x [C, H, W] split by column phase for stride sw: plane φ holds, for each
 * channel c and padded row yy, the padded columns sw·q + φ (q = 0..Wq−1). Tap (c, i, j) of output
 * (oy, ox) is then plane j % sw, row oy·sh + i, column ox + j / sw: a B panel row of 8 outputs is
 * 8 consecutive floats.
 */
function phasePlanes(x: usize, C: i32, H: i32, W: i32, sw: i32, ph: i32, pw: i32, Hp: i32, Wq: i32, out: usize): void {
  for (let f = 0; f < sw; f++) {
    for (let c = 0; c < C; c++) {
      for (let yy = 0; yy < Hp; yy++) {
        const dst = out + ((((f * C + c) * Hp) + yy) * Wq << 2);
        const y = yy - ph;
        if (y < 0 || y >= H) {
          zeroFloats(dst, Wq);
          continue;
        }
        const src = x + (((c * H + y) * W) << 2);
        // column q reads x column sw·q + f − pw, inside [0, W) for q in [qLo, qHi)
        const qLo = min(Wq, insideFrom(pw - f, sw, Wq));
        const qHi = insideTo(W - 1 + pw - f, sw, Wq, qLo);
        zeroFloats(dst, qLo);
        let q = qLo;
        if (sw == 1) {
          copyFloats(dst + (q << 2), src + ((q + f - pw) << 2), qHi - q);
          q = qHi;
        } else if (sw == 2) {
          for (; q + 4 < qHi; q += 4) {
            const s = src + ((q * 2 + f - pw) << 2);
            v128.store(dst + (q << 2), f32x4.shuffle(v128.load(s), v128.load(s, 16), 0, 2, 4, 6));
          }
        }
        for (; q < qHi; q++) store<f32>(dst + (q << 2), load<f32>(src + ((q * sw + f - pw) << 2)));
        zeroFloats(dst + (qHi << 2), Wq - qHi);
      }
    }
  }
}

/** dw[:, r0:r1] (leading dimension CK) += Σ_n dy[n] · cols_n[r0:r1, :]ᵀ over the N images, in order. */
export function convBackpropFilter(x: usize, dy: usize, N: i32,
  C: i32, H: i32, W: i32, O: i32, kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, Ho: i32, Wo: i32,
  r0: i32, r1: i32, dw: usize, cols: usize, pack: usize): void {
  const P = Ho * Wo;
  const CK = C * kh * kw;
  const direct = isDirect(kh, kw, sh, sw, ph, pw);
  // implicit GEMM (no im2col) as in the forward, where the planes and offsets fit in the scratch
  const Hp = (Ho - 1) * sh + kh;
  const Wq = ((Wo + 7) & ~7) + (kw - 1) / sw;
  const planeFloats = sw * C * Hp * Wq;
  const implicit = !direct && Wo >= MIN_FILTER_WO && planeFloats + CK <= (r1 - r0) * P;
  const offsets = cols + (planeFloats << 2);
  if (implicit) planeOffsets(C, kh, kw, sw, Hp, Wq, offsets);
  for (let n = 0; n < N; n++) {
    const xn = x + ((n * C * H * W) << 2);
    if (implicit) {
      phasePlanes(xn, C, H, W, sw, ph, pw, Hp, Wq, cols);
      gemmFilterPlanes(O, P, Wo, r0, r1, 1, dy + ((n * O * P) << 2), cols, offsets, (sh * Wq) << 2, dw, CK, pack);
      continue;
    }
    let src = xn + ((r0 * P) << 2);
    if (!direct) {
      im2colRows(xn, H, W, kh, kw, sh, sw, ph, pw, Ho, Wo, r0, r1, cols);
      src = cols;
    }
    gemm(0, 1, O, r1 - r0, P, 1, dy + ((n * O * P) << 2), P, src, P, 1, dw + (r0 << 2), CK, pack);
  }
}

/** dx [count, C, H, W] += col2im(wᵀ · dy[n]) per image. */
export function convBackpropInput(w: usize, dy: usize, count: i32,
  C: i32, H: i32, W: i32, O: i32, kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, Ho: i32, Wo: i32,
  dx: usize, cols: usize, pack: usize, packedW: usize): void {
  const P = Ho * Wo;
  const CK = C * kh * kw;
  const direct = isDirect(kh, kw, sh, sw, ph, pw);
  if (count > 0) gemmPackA(1, CK, O, w, CK, packedW);
  for (let n = 0; n < count; n++) {
    const dxn = dx + ((n * C * H * W) << 2);
    const dyn = dy + ((n * O * P) << 2);
    if (direct) {
      gemmWithPackedA(1, 0, C, P, O, 1, w, CK, dyn, P, 1, dxn, P, pack, packedW);
    } else {
      gemmWithPackedA(1, 0, CK, P, O, 1, w, CK, dyn, P, 0, cols, P, pack, packedW);
      col2imAdd(cols, C, H, W, kh, kw, sh, sw, ph, pw, Ho, Wo, dxn);
    }
  }
}
