/**
 * The cpu max-pooling kernels (the definition the other backends are checked against), on x viewed
 * as P = N·C planes of H x W, windows kh x kw with stride (sh, sw) and padding (ph, pw) that counts
 * as −∞:
 *
 *   maxPool2d:          y[q, oy, ox] = max over the window's inside values x[q, oy·sh − ph + i, ox·sw − pw + j],
 *                       argmax[...] = the position yy·W + xx within plane q of the first maximum in
 *                       row-major window order (−1, and y = −∞, for a window wholly in the padding)
 *   maxPool2dBackward:  dx[q, argmax[o]] += dy[o]   (the gradient goes to the argmax, outputs in order)
 *
 * argmax is a float tensor like x (a device keeps it beside x): positions within a plane are exact
 * in float32, as a plane has fewer than 2^24 of them (checked).
 */
import type { Float } from '../gemm.ts';

/** The sizes of one pooling: x [planes, H, W], y [planes, Ho, Wo]. */
export interface PoolGeometry {
  planes: number; H: number; W: number;
  kh: number; kw: number; sh: number; sw: number; ph: number; pw: number;
  Ho: number; Wo: number;
}

/** Throws unless every position within a plane is exact as a float32 argmax. */
export function checkPlane(g: PoolGeometry): void {
  if (g.H * g.W >= 2 ** 24) throw new Error(`maxPool2d: a plane of ${g.H}x${g.W} has more positions than a float32 argmax holds exactly (2^24)`);
}

export function maxPool2d(g: PoolGeometry, x: Float, y: Float, argmax: Float): void {
  checkPlane(g);
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
        argmax[o] = at < 0 ? -1 : at - base;
      }
  }
}

export function maxPool2dBackward(g: PoolGeometry, dy: Float, argmax: Float, dx: Float): void {
  const plane = g.H * g.W, outs = g.Ho * g.Wo;
  for (let o = 0; o < dy.length; o++) if (argmax[o] >= 0) dx[Math.floor(o / outs) * plane + argmax[o]] += dy[o];
}
