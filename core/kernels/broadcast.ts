/**
 * The cpu kernels of the broadcasting binary ops (numpy rules) add, sub, mul and div, forward and
 * the gradient of each side (the definition other backends are checked against):
 *
 *   broadcastBinary:          y = a op b over the broadcast shape                 (y overwritten)
 *   broadcastBinaryBackward:  dx += Σ over the axes x was stretched along of dy · ∂(a op b)/∂x
 *
 * A broadcast is described by its loop nest (`loopNest`, computed by the op): the output shape with
 * size-1 axes dropped and neighbouring axes merged where a and b step through them as through one,
 * with a's and b's strides. Each op's innermost loop over one run is written out (V8 compiles each
 * with the arithmetic inlined). Every gradient element receives its terms in output order, so the
 * sums round as one pass per element would (spec/elementwise-broadcast.test.ts).
 */
import type { Float } from '../gemm.ts';

/** Dims of the nest (the last one the run the loops walk) and a's and b's strides along them. */
export interface LoopNest { dims: number[]; sa: number[]; sb: number[] }

export type BinaryOp = 'add' | 'sub' | 'mul' | 'div';

/** Strides of `shape` seen from the broadcast `out` shape (0 along stretched axes). */
function broadcastStrides(shape: readonly number[], out: readonly number[]): number[] {
  const strides = new Array<number>(out.length).fill(0);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const o = out.length - shape.length + i;
    strides[o] = shape[i] === 1 ? 0 : s;
    s *= shape[i];
  }
  return strides;
}

/** Visit every index of `out` in order with the matching flat offsets (strides sa, sb) into a and b. */
function forEachBroadcast(out: readonly number[], sa: number[], sb: number[], fn: (o: number, ia: number, ib: number) => void): void {
  const rank = out.length;
  const idx = new Array<number>(rank).fill(0);
  let ia = 0, ib = 0;
  const total = out.reduce((x, y) => x * y, 1);
  for (let o = 0; o < total; o++) {
    fn(o, ia, ib);
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]++;
      ia += sa[d];
      ib += sb[d];
      if (idx[d] < out[d]) break;
      ia -= sa[d] * out[d];
      ib -= sb[d] * out[d];
      idx[d] = 0;
    }
  }
}

/**
 * The loop nest of a broadcast: the output shape with its size-1 axes dropped and neighbouring axes
 * merged where a and b both step through them as through one axis, with a's and b's strides.
 * Same shapes become one axis; [32, 64, 32] / [32, 1, 32] stays dims [32, 64, 32], a [2048, 32, 1],
 * b [32, 0, 1]; [32, 4, 16, 32] + [4, 16, 32] becomes dims [32, 2048], a [2048, 1], b [0, 1].
 * The last axis (strides 0 or 1) is the run that the ops' loops walk.
 */
export function loopNest(out: readonly number[], a: readonly number[], b: readonly number[]): LoopNest {
  const sa = broadcastStrides(a, out), sb = broadcastStrides(b, out);
  const dims: number[] = [], ta: number[] = [], tb: number[] = [];
  for (let d = 0; d < out.length; d++) {
    if (out[d] === 1) continue;
    const k = dims.length - 1;
    if (k >= 0 && ta[k] === sa[d] * out[d] && tb[k] === sb[d] * out[d]) {
      dims[k] *= out[d];
      ta[k] = sa[d];
      tb[k] = sb[d];
    } else {
      dims.push(out[d]);
      ta.push(sa[d]);
      tb.push(sb[d]);
    }
  }
  if (dims.length === 0) dims.push(1), ta.push(0), tb.push(0);
  return { dims, sa: ta, sb: tb };
}

/** Walk the nest: run(n, o, ia, sa, ib, sb) for each innermost run of n outputs, in output order (o = 0, n, 2n, ...). */
function forEachRun(nest: LoopNest, run: (n: number, o: number, ia: number, sa: number, ib: number, sb: number) => void): void {
  const { dims, sa, sb } = nest;
  const r = dims.length - 1;
  const n = dims[r];
  if (n === 0) return;
  forEachBroadcast(dims.slice(0, r), sa, sb, (j, ia, ib) => run(n, j * n, ia, sa[r], ib, sb[r]));
}

/** One run of the forward: y[o + i] = f(A[ia + i·sa], B[ib + i·sb]) for i < n. */
type Forward = (y: Float, A: Float, B: Float, n: number, o: number, ia: number, sa: number, ib: number, sb: number) => void;
/** One run of a gradient: gx[ix + i·sx] += g[o + i] · ∂f/∂x at (A[ia + i·sa], B[ib + i·sb]), x = a or b, in order of i. */
type Backward = (gx: Float, g: Float, A: Float, B: Float, n: number, o: number, ia: number, sa: number, ib: number, sb: number) => void;

// The loops below: for (end = o + n; o < end; o++, ia += sa, ib += sb) ... The gradient terms keep
// the float operations of g · ∂f/∂x exactly: g · 1 is g, x + g · -1 is x - g, and div keeps g · (1 / b).
const OPS: Record<BinaryOp, { f: Forward; da: Backward; db: Backward }> = {
  // d/da = 1, d/db = 1
  add: {
    f: (y, A, B, n, o, ia, sa, ib, sb) => { for (const end = o + n; o < end; o++, ia += sa, ib += sb) y[o] = A[ia] + B[ib]; },
    da: (ga, g, _A, _B, n, o, ia, sa) => { for (const end = o + n; o < end; o++, ia += sa) ga[ia] += g[o]; },
    db: (gb, g, _A, _B, n, o, _ia, _sa, ib, sb) => { for (const end = o + n; o < end; o++, ib += sb) gb[ib] += g[o]; },
  },
  // d/da = 1, d/db = -1
  sub: {
    f: (y, A, B, n, o, ia, sa, ib, sb) => { for (const end = o + n; o < end; o++, ia += sa, ib += sb) y[o] = A[ia] - B[ib]; },
    da: (ga, g, _A, _B, n, o, ia, sa) => { for (const end = o + n; o < end; o++, ia += sa) ga[ia] += g[o]; },
    db: (gb, g, _A, _B, n, o, _ia, _sa, ib, sb) => { for (const end = o + n; o < end; o++, ib += sb) gb[ib] -= g[o]; },
  },
  // d/da = b, d/db = a
  mul: {
    f: (y, A, B, n, o, ia, sa, ib, sb) => { for (const end = o + n; o < end; o++, ia += sa, ib += sb) y[o] = A[ia] * B[ib]; },
    da: (ga, g, _A, B, n, o, ia, sa, ib, sb) => { for (const end = o + n; o < end; o++, ia += sa, ib += sb) ga[ia] += g[o] * B[ib]; },
    db: (gb, g, A, _B, n, o, ia, sa, ib, sb) => { for (const end = o + n; o < end; o++, ia += sa, ib += sb) gb[ib] += g[o] * A[ia]; },
  },
  // d/da = 1 / b, d/db = -a / b²
  div: {
    f: (y, A, B, n, o, ia, sa, ib, sb) => { for (const end = o + n; o < end; o++, ia += sa, ib += sb) y[o] = A[ia] / B[ib]; },
    da: (ga, g, _A, B, n, o, ia, sa, ib, sb) => { for (const end = o + n; o < end; o++, ia += sa, ib += sb) ga[ia] += g[o] * (1 / B[ib]); },
    db: (gb, g, A, B, n, o, ia, sa, ib, sb) => { for (const end = o + n; o < end; o++, ia += sa, ib += sb) gb[ib] += g[o] * (-A[ia] / (B[ib] * B[ib])); },
  },
};

export function broadcastBinary(op: BinaryOp, nest: LoopNest, a: Float, b: Float, y: Float): void {
  const f = OPS[op].f;
  forEachRun(nest, (n, o, ia, sa, ib, sb) => f(y, a, b, n, o, ia, sa, ib, sb));
}

export function broadcastBinaryBackward(op: BinaryOp, side: 'a' | 'b', nest: LoopNest, dy: Float, a: Float, b: Float, dx: Float): void {
  const d = side === 'a' ? OPS[op].da : OPS[op].db;
  forEachRun(nest, (n, o, ia, sa, ib, sb) => d(dx, dy, a, b, n, o, ia, sa, ib, sb));
}
