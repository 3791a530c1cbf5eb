/**
 * The cpu max-pooling kernels (the definition the other backends are checked against), on x viewed
 * as P = N·C planes of H x W, windows kh x kw with stride (sh, sw) and padding (ph, pw) that counts
 * as −∞:
 *
 *   maxPool2d:          y[q, oy, ox] = max over the window's inside values x[q, oy·sh − ph + i, ox·sw − pw + j],
 *                       argmax[...] = the flat index into x of the first maximum in row-major window
 *                       order (−1, and y = −∞, for a window wholly in the padding)
 *   maxPool2dBackward:  dx[argmax[o]] += dy[o]   (the gradient goes to the argmax)
 */
import type { Float } from '../gemm.ts';

/** The sizes of one pooling: x [planes, H, W], y [planes, Ho, Wo]. */
export interface PoolGeometry {
  planes: number; H: number; W: number;
  kh: number; kw: number; sh: number; sw: number; ph: number; pw: number;
  Ho: number; Wo: number;
}

export function maxPool2d(g: PoolGeometry, x: Float, y: Float, argmax: Int32Array): void {
  const { planes, H, W, kh, kw, sh, sw, ph, pw, Ho, Wo } = g;
  for (let q = 0; q < planes; q++) {
    const base = q * H * W;
    for (let oy = 0; oy < Ho; oy++)
      for (let ox = 0; ox < Wo; ox++) {
        let best = -Infinity;
        let at = -1;
        for (let i = 0; i < kh; i++) {
          const yy = oy * sh - ph + i;
          if (yy < 0 || yy >= H) continue;
          for (let j = 0; j < kw; j++) {
            const xx = ox * sw - pw + j;
            if (xx < 0 || xx >= W) continue;
            const v = x[base + yy * W + xx];
            if (v > best || at < 0) { best = v; at = base + yy * W + xx; }
          }
        }
        const o = (q * Ho + oy) * Wo + ox;
        y[o] = best;
        argmax[o] = at;
      }
  }
}

export function maxPool2dBackward(dy: Float, argmax: Int32Array, dx: Float): void {
  for (let o = 0; o < dy.length; o++) if (argmax[o] >= 0) dx[argmax[o]] += dy[o];
}
