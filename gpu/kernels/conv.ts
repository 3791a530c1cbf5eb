/**
 * Convolution pieces (conv2d as im2col + batched GEMM, NCHW, no dilation, groups = 1).
 *
 *   x     [B, C, H, W]
 *   cols  [B, C*kh*kw, Ho*Wo]   cols[b, (c*kh + ky)*kw + kx, oy*Wo + ox] = x[b, c, oy*sh - ph + ky, ox*sw - pw + kx] (0 outside)
 *   Ho = floor((H + 2ph - kh) / sh) + 1, Wo likewise.
 *
 * im2col:          x -> cols
 * col2im:          cols -> x-shaped sum of every cols entry that im2col copied from each pixel
 *                  (the adjoint of im2col, written gather-style: one thread per input pixel, no atomics)
 * addChannelBias:  y[b, c, p] + bias[c]               (conv bias, BN shift)
 * sumChannels:     db[c] = sum_b sum_p dy[b, c, p]    (conv bias gradient)
 */
import type { Flat, KernelSource, KernelThis } from './kernel-types.ts';

function im2col(
  this: KernelThis, x: Flat, C: number, H: number, W: number,
  kh: number, kw: number, sh: number, sw: number, ph: number, pw: number, Ho: number, Wo: number,
): number {
  const idx = this.thread.x;
  const P = Ho * Wo;
  const R = C * kh * kw;
  let b = Math.floor(idx / (R * P));
  if (b * (R * P) > idx) {
    b = b - 1;
  }
  if ((b + 1) * (R * P) <= idx) {
    b = b + 1;
  }
  const rest = idx - b * R * P;
  let r = Math.floor(rest / P);
  if (r * P > rest) {
    r = r - 1;
  }
  if ((r + 1) * P <= rest) {
    r = r + 1;
  }
  const p = rest - r * P;
  let c = Math.floor(r / (kh * kw));
  if (c * (kh * kw) > r) {
    c = c - 1;
  }
  if ((c + 1) * (kh * kw) <= r) {
    c = c + 1;
  }
  const kk = r - c * kh * kw;
  let ky = Math.floor(kk / kw);
  if (ky * kw > kk) {
    ky = ky - 1;
  }
  if ((ky + 1) * kw <= kk) {
    ky = ky + 1;
  }
  const kx = kk - ky * kw;
  let oy = Math.floor(p / Wo);
  if (oy * Wo > p) {
    oy = oy - 1;
  }
  if ((oy + 1) * Wo <= p) {
    oy = oy + 1;
  }
  const ox = p - oy * Wo;
  const iy = oy * sh - ph + ky;
  const ix = ox * sw - pw + kx;
  let v = 0;
  if (iy >= 0 && iy < H && ix >= 0 && ix < W) {
    v = x[((b * C + c) * H + iy) * W + ix];
  }
  return v;
}

function col2im(
  this: KernelThis, cols: Flat, C: number, H: number, W: number,
  kh: number, kw: number, sh: number, sw: number, ph: number, pw: number, Ho: number, Wo: number,
): number {
  const idx = this.thread.x;
  let b = Math.floor(idx / (C * H * W));
  if (b * (C * H * W) > idx) {
    b = b - 1;
  }
  if ((b + 1) * (C * H * W) <= idx) {
    b = b + 1;
  }
  const rest = idx - b * C * H * W;
  let c = Math.floor(rest / (H * W));
  if (c * (H * W) > rest) {
    c = c - 1;
  }
  if ((c + 1) * (H * W) <= rest) {
    c = c + 1;
  }
  const pix = rest - c * H * W;
  let iy = Math.floor(pix / W);
  if (iy * W > pix) {
    iy = iy - 1;
  }
  if ((iy + 1) * W <= pix) {
    iy = iy + 1;
  }
  const ix = pix - iy * W;
  const P = Ho * Wo;
  const R = C * kh * kw;
  let sum = 0;
  for (let ky = 0; ky < kh; ky++) {
    const ty = iy + ph - ky;
    if (ty >= 0) {
      let oy = Math.floor(ty / sh);
      if (oy * sh > ty) {
        oy = oy - 1;
      }
      if ((oy + 1) * sh <= ty) {
        oy = oy + 1;
      }
      if (oy * sh === ty && oy < Ho) {
        for (let kx = 0; kx < kw; kx++) {
          const tx = ix + pw - kx;
          if (tx >= 0) {
            let ox = Math.floor(tx / sw);
          if (ox * sw > tx) {
            ox = ox - 1;
          }
          if ((ox + 1) * sw <= tx) {
            ox = ox + 1;
          }
            if (ox * sw === tx && ox < Wo) {
              sum += cols[(b * R + (c * kh + ky) * kw + kx) * P + oy * Wo + ox];
            }
          }
        }
      }
    }
  }
  return sum;
}

function addChannelBias(this: KernelThis, y: Flat, bias: Flat, C: number, P: number): number {
  const idx = this.thread.x;
  let q = Math.floor(idx / P);
  if (q * P > idx) {
    q = q - 1;
  }
  if ((q + 1) * P <= idx) {
    q = q + 1;
  }
  let b = Math.floor(q / C);
  if (b * C > q) {
    b = b - 1;
  }
  if ((b + 1) * C <= q) {
    b = b + 1;
  }
  return y[idx] + bias[q - b * C];
}

function sumChannels(this: KernelThis, dy: Flat, batch: number, C: number, P: number): number {
  const c = this.thread.x;
  let sum = 0;
  for (let b = 0; b < batch; b++) {
    const base = (b * C + c) * P;
    for (let p = 0; p < P; p++) {
      sum += dy[base + p];
    }
  }
  return sum;
}

const geometry = { C: 'Integer', H: 'Integer', W: 'Integer', kh: 'Integer', kw: 'Integer', sh: 'Integer', sw: 'Integer', ph: 'Integer', pw: 'Integer', Ho: 'Integer', Wo: 'Integer' } as const;

export const im2colKernel: KernelSource = { name: 'im2col', fn: im2col, argumentTypes: { x: 'Array', ...geometry } };
export const col2imKernel: KernelSource = { name: 'col2im', fn: col2im, argumentTypes: { cols: 'Array', ...geometry } };
export const addChannelBiasKernel: KernelSource = {
  name: 'addChannelBias', fn: addChannelBias, argumentTypes: { y: 'Array', bias: 'Array', C: 'Integer', P: 'Integer' },
};
export const sumChannelsKernel: KernelSource = {
  name: 'sumChannels', fn: sumChannels, argumentTypes: { dy: 'Array', batch: 'Integer', C: 'Integer', P: 'Integer' },
};
