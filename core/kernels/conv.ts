/**
 * The cpu (plain-TypeScript) conv2d kernels, tfjs's three: Conv2D, Conv2DBackpropFilter and
 * Conv2DBackpropInput, as im2col + the active backend's GEMM (core/backend.ts). Per image n,
 * with P = Ho·Wo and CK = C·kh·kw:
 *
 *   conv2d:                cols = im2col(x[n]) [CK, P];   y[n] = w [O, CK] · cols (+ b)
 *   conv2dBackpropFilter:  dw [O, CK] += dy[n] · colsᵀ            (images in order)
 *   conv2dBackpropInput:   dx[n] += col2im(wᵀ · dy[n])
 *
 * A 1x1 convolution with stride 1 and no padding skips im2col: cols is x[n] itself.
 */
import { alloc, type Storage } from '../tensor.ts';
import type { Float } from '../gemm.ts';
import { kernels } from '../backend.ts';

/** The sizes of one convolution: x [N, C, H, W], w [O, C, kh, kw], y [N, O, Ho, Wo]. */
export interface ConvGeometry {
  N: number; C: number; H: number; W: number; O: number;
  kh: number; kw: number; sh: number; sw: number; ph: number; pw: number;
  Ho: number; Wo: number;
}

/** Output size of a convolution or pooling window along one axis (torch's floor formula). */
export function convOutputSize(size: number, k: number, s: number, p: number): number {
  return Math.floor((size + 2 * p - k) / s) + 1;
}

export function isDirect(g: ConvGeometry): boolean {
  return g.kh === 1 && g.kw === 1 && g.sh === 1 && g.sw === 1 && g.ph === 0 && g.pw === 0;
}

/** Scratch buffers reused across calls (first-touch memory is slow; see DESIGN.md). */
const scratch: { f32: Float32Array; f64: Float64Array } = { f32: new Float32Array(0), f64: new Float64Array(0) };
function colsBuffer(like: Float, n: number): Storage {
  if (like instanceof Float32Array) return scratch.f32.length >= n ? scratch.f32 : (scratch.f32 = alloc('float32', n) as Float32Array);
  return scratch.f64.length >= n ? scratch.f64 : (scratch.f64 = alloc('float64', n) as Float64Array);
}

function im2col(x: Float, xo: number, g: ConvGeometry, cols: Float): void {
  const { C, H, W, kh, kw, sh, sw, ph, pw, Ho, Wo } = g;
  let r = 0;
  for (let c = 0; c < C; c++)
    for (let i = 0; i < kh; i++)
      for (let j = 0; j < kw; j++, r++) {
        const row = r * Ho * Wo;
        for (let oy = 0; oy < Ho; oy++) {
          const y = oy * sh - ph + i;
          const dst = row + oy * Wo;
          if (y < 0 || y >= H) {
            cols.fill(0, dst, dst + Wo);
            continue;
          }
          const src = xo + (c * H + y) * W;
          for (let ox = 0; ox < Wo; ox++) {
            const xx = ox * sw - pw + j;
            cols[dst + ox] = xx >= 0 && xx < W ? x[src + xx] : 0;
          }
        }
      }
}

function col2im(cols: Float, g: ConvGeometry, dx: Float, xo: number): void {
  const { C, H, W, kh, kw, sh, sw, ph, pw, Ho, Wo } = g;
  let r = 0;
  for (let c = 0; c < C; c++)
    for (let i = 0; i < kh; i++)
      for (let j = 0; j < kw; j++, r++) {
        const row = r * Ho * Wo;
        for (let oy = 0; oy < Ho; oy++) {
          const y = oy * sh - ph + i;
          if (y < 0 || y >= H) continue;
          const dst = xo + (c * H + y) * W;
          for (let ox = 0; ox < Wo; ox++) {
            const xx = ox * sw - pw + j;
            if (xx >= 0 && xx < W) dx[dst + xx] += cols[row + oy * Wo + ox];
          }
        }
      }
}

/** cols of image n: x itself (1x1 direct) or im2col into the scratch buffer. */
function colsOf(x: Float, n: number, g: ConvGeometry): [Float, number] {
  if (isDirect(g)) return [x, n * g.C * g.H * g.W];
  const cols = colsBuffer(x, g.C * g.kh * g.kw * g.Ho * g.Wo);
  im2col(x, n * g.C * g.H * g.W, g, cols);
  return [cols, 0];
}

/** y [N, O, Ho, Wo] = conv(x, w) (+ b); y is overwritten. */
export function conv2d(g: ConvGeometry, x: Float, w: Float, b: Float | null, y: Float): void {
  const P = g.Ho * g.Wo, CK = g.C * g.kh * g.kw;
  for (let n = 0; n < g.N; n++) {
    const yo = n * g.O * P;
    if (b) for (let o = 0; o < g.O; o++) y.fill(b[o], yo + o * P, yo + (o + 1) * P);
    const [cols, co] = colsOf(x, n, g);
    kernels.gemm(false, false, g.O, P, CK, 1, w, 0, CK, cols, co, P, b ? 1 : 0, y, yo, P);
  }
}

/** dw [O, C, kh, kw] += Σ_n dy[n] · im2col(x[n])ᵀ. */
export function conv2dBackpropFilter(g: ConvGeometry, x: Float, dy: Float, dw: Float): void {
  const P = g.Ho * g.Wo, CK = g.C * g.kh * g.kw;
  for (let n = 0; n < g.N; n++) {
    const [cols, co] = colsOf(x, n, g);
    kernels.gemm(false, true, g.O, CK, P, 1, dy, n * g.O * P, P, cols, co, P, 1, dw, 0, CK);
  }
}

/** dx [N, C, H, W] += col2im(wᵀ · dy[n]). */
export function conv2dBackpropInput(g: ConvGeometry, w: Float, dy: Float, dx: Float): void {
  const P = g.Ho * g.Wo, CK = g.C * g.kh * g.kw;
  for (let n = 0; n < g.N; n++) {
    const xo = n * g.C * g.H * g.W;
    if (isDirect(g)) {
      kernels.gemm(true, false, g.C, P, g.O, 1, w, 0, CK, dy, n * g.O * P, P, 1, dx, xo, P);
    } else {
      const dcols = colsBuffer(dx, CK * P);
      kernels.gemm(true, false, CK, P, g.O, 1, w, 0, CK, dy, n * g.O * P, P, 0, dcols, 0, P);
      col2im(dcols, g, dx, xo);
    }
  }
}
