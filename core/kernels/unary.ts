/**
 * The cpu kernels of the unary elementwise ops with a scalar parameter s (the definition other
 * backends are checked against):
 *
 *   sigmoid:    y = 1 / (1 + e^-x)      dx += dy · y (1 − y)
 *   addScalar:  y = x + s               dx += dy
 *   mulScalar:  y = x · s               dx += dy · s
 */
import type { Float } from '../gemm.ts';

export type UnaryOp = 'sigmoid' | 'addScalar' | 'mulScalar';

const OPS: Record<UnaryOp, { f: (s: number, x: Float, y: Float) => void; df: (s: number, x: Float, y: Float, dy: Float, dx: Float) => void }> = {
  sigmoid: {
    f: (_s, x, y) => { for (let i = 0; i < y.length; i++) y[i] = 1 / (1 + Math.exp(-x[i])); },
    df: (_s, _x, y, dy, dx) => { for (let i = 0; i < dy.length; i++) dx[i] += dy[i] * (y[i] * (1 - y[i])); },
  },
  addScalar: {
    f: (s, x, y) => { for (let i = 0; i < y.length; i++) y[i] = x[i] + s; },
    df: (_s, _x, _y, dy, dx) => { for (let i = 0; i < dy.length; i++) dx[i] += dy[i]; },
  },
  mulScalar: {
    f: (s, x, y) => { for (let i = 0; i < y.length; i++) y[i] = x[i] * s; },
    df: (s, _x, _y, dy, dx) => { for (let i = 0; i < dy.length; i++) dx[i] += dy[i] * s; },
  },
};

/** y = op(x; s); y is overwritten. */
export function unary(op: UnaryOp, s: number, x: Float, y: Float): void {
  OPS[op].f(s, x, y);
}

/** dx += dy · op'(x; s), given x and y = op(x; s). */
export function unaryBackward(op: UnaryOp, s: number, x: Float, y: Float, dy: Float, dx: Float): void {
  OPS[op].df(s, x, y, dy, dx);
}
