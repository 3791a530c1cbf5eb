/**
 * conv2d (torch.nn.functional.conv2d, zero padding, no dilation or groups) as im2col + GEMM.
 *
 *   x [N, C, H, W], w [O, C, kh, kw], b [O]  ->  y [N, O, Ho, Wo],  Ho = floor((H + 2ph - kh) / sh) + 1
 *   forward, per image n:   cols = im2col(x[n])          [C*kh*kw, Ho*Wo]
 *                           y[n] = w [O, C*kh*kw] · cols  (+ b)
 *   backward:               dw  += dy[n] · colsᵀ
 *                           dx[n] = col2im(wᵀ · dy[n]);   db = Σ_{n,p} dy
 * A 1x1 convolution with stride 1 and no padding skips im2col: cols is x[n] itself.
 */
import { Tensor, alloc, ShapeError, type Storage } from '../tensor.ts';
import { record } from '../autograd.ts';
import { kernels } from '../backend.ts';

export interface Conv2dAttrs {
  stride: [number, number];
  padding: [number, number];
}

export function convOutputSize(size: number, k: number, s: number, p: number): number {
  return Math.floor((size + 2 * p - k) / s) + 1;
}

/** Scratch buffers reused across calls (first-touch memory is slow; see DESIGN.md). */
const scratch: { f32: Float32Array; f64: Float64Array } = { f32: new Float32Array(0), f64: new Float64Array(0) };
function colsBuffer(like: Storage, n: number): Storage {
  if (like instanceof Float32Array) return scratch.f32.length >= n ? scratch.f32 : (scratch.f32 = alloc('float32', n) as Float32Array);
  return scratch.f64.length >= n ? scratch.f64 : (scratch.f64 = alloc('float64', n) as Float64Array);
}

function im2col(x: Storage, xo: number, C: number, H: number, W: number, kh: number, kw: number,
  sh: number, sw: number, ph: number, pw: number, Ho: number, Wo: number, cols: Storage): void {
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

function col2im(cols: Storage, C: number, H: number, W: number, kh: number, kw: number,
  sh: number, sw: number, ph: number, pw: number, Ho: number, Wo: number, dx: Storage, xo: number): void {
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

export function conv2d(x: Tensor<any>, w: Tensor, b: Tensor | null, attrs: Conv2dAttrs, where = 'conv2d'): Tensor<['N', 'C', 'H', 'W']> {
  const [N, C, H, W] = x.shape;
  const [O, Cw, kh, kw] = w.shape;
  const [sh, sw] = attrs.stride;
  const [ph, pw] = attrs.padding;
  if (x.rank !== 4 || w.rank !== 4 || C !== Cw) {
    throw new ShapeError(`${where}: input [${x.shape}] does not fit weight [${w.shape}] (want input [N,${Cw},H,W])`);
  }
  if (b && (b.rank !== 1 || b.shape[0] !== O)) throw new ShapeError(`${where}: bias [${b.shape}] does not fit ${O} output channels`);
  const Ho = convOutputSize(H, kh, sh, ph);
  const Wo = convOutputSize(W, kw, sw, pw);
  if (Ho <= 0 || Wo <= 0) throw new ShapeError(`${where}: input [${x.shape}] is smaller than kernel ${kh}x${kw} with padding ${ph}x${pw}`);
  const P = Ho * Wo;
  const CK = C * kh * kw;
  const direct = kh === 1 && kw === 1 && sh === 1 && sw === 1 && ph === 0 && pw === 0;
  const gemm = kernels.gemm;
  const y = alloc(x.dtype, N * O * P);
  for (let n = 0; n < N; n++) {
    const yo = n * O * P;
    if (b) for (let o = 0; o < O; o++) y.fill(b.data[o], yo + o * P, yo + (o + 1) * P);
    let cols: Storage = x.data;
    let co = n * C * H * W;
    if (!direct) {
      cols = colsBuffer(x.data, CK * P);
      co = 0;
      im2col(x.data, n * C * H * W, C, H, W, kh, kw, sh, sw, ph, pw, Ho, Wo, cols);
    }
    gemm(false, false, O, P, CK, 1, w.data, 0, CK, cols, co, P, b ? 1 : 0, y, yo, P);
  }
  const out = new Tensor<['N', 'C', 'H', 'W']>(y, [N, O, Ho, Wo]);
  return record(out, [x, w, b], (g) => {
    const gw = w.requiresGrad ? w.gradBuffer() : null;
    const gx = x.requiresGrad ? x.gradBuffer() : null;
    if (b?.requiresGrad) {
      const gb = b.gradBuffer();
      for (let n = 0; n < N; n++)
        for (let o = 0; o < O; o++) {
          let s = 0;
          const go = (n * O + o) * P;
          for (let p = 0; p < P; p++) s += g[go + p];
          gb[o] += s;
        }
    }
    for (let n = 0; n < N; n++) {
      const go = n * O * P;
      if (gw) {
        let cols: Storage = x.data;
        let co = n * C * H * W;
        if (!direct) {
          cols = colsBuffer(x.data, CK * P);
          co = 0;
          im2col(x.data, n * C * H * W, C, H, W, kh, kw, sh, sw, ph, pw, Ho, Wo, cols);
        }
        // dw += dy[n] · colsᵀ
        gemm(false, true, O, CK, P, 1, g, go, P, cols, co, P, 1, gw, 0, CK);
      }
      if (gx) {
        if (direct) {
          // dx[n] += wᵀ · dy[n]
          gemm(true, false, C, P, O, 1, w.data, 0, CK, g, go, P, 1, gx, n * C * H * W, P);
        } else {
          const dcols = colsBuffer(x.data, CK * P);
          gemm(true, false, CK, P, O, 1, w.data, 0, CK, g, go, P, 0, dcols, 0, P);
          col2im(dcols, C, H, W, kh, kw, sh, sw, ph, pw, Ho, Wo, gx, n * C * H * W);
        }
      }
    }
  });
}
