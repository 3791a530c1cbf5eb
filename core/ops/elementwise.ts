/**
 * Elementwise primitives with numpy-style broadcasting: add, sub, mul, div, and the unary
 * addScalar, mulScalar, relu, sigmoid. Forward and backward of each side by side.
 * A broadcast input's gradient is the output gradient summed over the axes it was stretched along.
 * Same-shape add, relu and addInto run the active backend's kernels (core/kernels/elementwise.ts).
 * The others are plain loops: a broadcast becomes a few nested loops with constant strides (loopNest),
 * and each op's innermost loop is written out. Results are bit-identical to one closure call per
 * element (spec/elementwise-broadcast.test.ts).
 */
import { Tensor, allocUnzeroed, ShapeError, sameShape, type Axes, type Storage } from '../tensor.ts';
import { TensorStorage } from '../tensor-storage.ts';
import { record } from '../autograd.ts';
import { kernels } from '../backend.ts';

/** The broadcast result shape of a and b (trailing axes aligned), or an error naming `op`. */
export function broadcastShape(a: readonly number[], b: readonly number[], op: string): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(`${op}: shapes [${a}] and [${b}] do not broadcast (axis ${i}: ${da} vs ${db})`);
    }
    out.push(Math.max(da, db));
  }
  return out;
}

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
function loopNest(out: readonly number[], a: readonly number[], b: readonly number[]) {
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
function forEachRun(nest: ReturnType<typeof loopNest>, run: (n: number, o: number, ia: number, sa: number, ib: number, sb: number) => void): void {
  const { dims, sa, sb } = nest;
  const r = dims.length - 1;
  const n = dims[r];
  if (n === 0) return;
  forEachBroadcast(dims.slice(0, r), sa, sb, (j, ia, ib) => run(n, j * n, ia, sa[r], ib, sb[r]));
}

/** One run of the forward: y[o + i] = f(A[ia + i·sa], B[ib + i·sb]) for i < n. */
type Forward = (y: Storage, A: Storage, B: Storage, n: number, o: number, ia: number, sa: number, ib: number, sb: number) => void;
/** One run of a gradient: gx[ix + i·sx] += g[o + i] · ∂f/∂x at (A[ia + i·sa], B[ib + i·sb]), x = a or b, in order of i. */
type Backward = (gx: Storage, g: Storage, A: Storage, B: Storage, n: number, o: number, ia: number, sa: number, ib: number, sb: number) => void;

/**
 * A broadcasting binary op from its three loops over one run (each op writes its own, so V8
 * compiles each with the arithmetic inlined; a closure call per run rather than per element).
 * The backward accumulates into ga over o = 0, 1, 2, ..., then into gb in a second pass over o:
 * each gradient element receives its terms in output order, so the sums round as one interleaved
 * pass would round them (also for x op x, whose two gradients are one buffer: same shapes make a
 * single run, so each element still gets its a-term before its b-term).
 */
type Binary = { name: string; f: Forward; da: Backward; db: Backward };

function binary(def: Binary) {
  return <A extends Axes>(a: Tensor<A>, b: Tensor<any>): Tensor<A> => {
    const shape = sameShape(a.shape, b.shape) ? a.shape : broadcastShape(a.shape, b.shape, def.name);
    const out = new Tensor<A>(allocUnzeroed(a.dtype, shape.reduce((x, y) => x * y, 1)), shape);
    const y = out.data, A = a.data, B = b.data;
    const nest = loopNest(shape, a.shape, b.shape);
    forEachRun(nest, (n, o, ia, sa, ib, sb) => def.f(y, A, B, n, o, ia, sa, ib, sb));
    return record(out, [a, b], (dy) => {
      const g = dy.read();
      const ga = a.requiresGrad ? a.gradBuffer() : null;
      const gb = b.requiresGrad ? b.gradBuffer() : null;
      if (ga) forEachRun(nest, (n, o, ia, sa, ib, sb) => def.da(ga, g, A, B, n, o, ia, sa, ib, sb));
      if (gb) forEachRun(nest, (n, o, ia, sa, ib, sb) => def.db(gb, g, A, B, n, o, ia, sa, ib, sb));
    });
  };
}

// The loops below: for (end = o + n; o < end; o++, ia += sa, ib += sb) ... The gradient terms keep
// the float operations of g · ∂f/∂x exactly: g · 1 is g, x + g · -1 is x - g, and div keeps g · (1 / b).
const addBroadcast = binary({
  name: 'add',
  f: (y, A, B, n, o, ia, sa, ib, sb) => { for (const end = o + n; o < end; o++, ia += sa, ib += sb) y[o] = A[ia] + B[ib]; },
  da: (ga, g, _A, _B, n, o, ia, sa) => { for (const end = o + n; o < end; o++, ia += sa) ga[ia] += g[o]; },
  db: (gb, g, _A, _B, n, o, _ia, _sa, ib, sb) => { for (const end = o + n; o < end; o++, ib += sb) gb[ib] += g[o]; },
});

/** a + b; written out for equal shapes (every residual connection), broadcasting otherwise. */
export function add<A extends Axes>(a: Tensor<A>, b: Tensor<any>): Tensor<A> {
  if (!sameShape(a.shape, b.shape)) return addBroadcast(a, b);
  const y = new TensorStorage(a.dtype, a.size);
  kernels.add(a.storage, b.storage, y);
  return record(new Tensor<A>(y, a.shape), [a, b], (dy) => {
    if (a.requiresGrad) kernels.addInto(a.gradOf(), dy);
    if (b.requiresGrad) kernels.addInto(b.gradOf(), dy);
  });
}

/** a - b; d/da = 1, d/db = -1. */
export const sub = binary({
  name: 'sub',
  f: (y, A, B, n, o, ia, sa, ib, sb) => { for (const end = o + n; o < end; o++, ia += sa, ib += sb) y[o] = A[ia] - B[ib]; },
  da: (ga, g, _A, _B, n, o, ia, sa) => { for (const end = o + n; o < end; o++, ia += sa) ga[ia] += g[o]; },
  db: (gb, g, _A, _B, n, o, _ia, _sa, ib, sb) => { for (const end = o + n; o < end; o++, ib += sb) gb[ib] -= g[o]; },
});

/** a · b; d/da = b, d/db = a. */
export const mul = binary({
  name: 'mul',
  f: (y, A, B, n, o, ia, sa, ib, sb) => { for (const end = o + n; o < end; o++, ia += sa, ib += sb) y[o] = A[ia] * B[ib]; },
  da: (ga, g, _A, B, n, o, ia, sa, ib, sb) => { for (const end = o + n; o < end; o++, ia += sa, ib += sb) ga[ia] += g[o] * B[ib]; },
  db: (gb, g, A, _B, n, o, ia, sa, ib, sb) => { for (const end = o + n; o < end; o++, ia += sa, ib += sb) gb[ib] += g[o] * A[ia]; },
});

/** a / b; d/da = 1 / b, d/db = -a / b². */
export const div = binary({
  name: 'div',
  f: (y, A, B, n, o, ia, sa, ib, sb) => { for (const end = o + n; o < end; o++, ia += sa, ib += sb) y[o] = A[ia] / B[ib]; },
  da: (ga, g, _A, B, n, o, ia, sa, ib, sb) => { for (const end = o + n; o < end; o++, ia += sa, ib += sb) ga[ia] += g[o] * (1 / B[ib]); },
  db: (gb, g, A, B, n, o, ia, sa, ib, sb) => { for (const end = o + n; o < end; o++, ia += sa, ib += sb) gb[ib] += g[o] * (-A[ia] / (B[ib] * B[ib])); },
});

/** A unary op from its two loops: forward(X, y) fills y, backward(gx, g, X, y) accumulates gx. */
function unary<A extends Axes>(name: string, x: Tensor<A>, forward: (X: Storage, y: Storage) => void,
  backward: (gx: Storage, g: Storage, X: Storage, y: Storage) => void): Tensor<A> {
  const X = x.data;
  const y = allocUnzeroed(x.dtype, x.size);
  forward(X, y);
  const out = new Tensor<A>(y, x.shape);
  out.name = name;
  return record(out, [x], (dy) => backward(x.gradBuffer(), dy.read(), X, y));
}

/** relu(x) = max(x, 0); d/dx = [x > 0]. Written out: it follows every BatchNorm. */
export function relu<A extends Axes>(x: Tensor<A>): Tensor<A> {
  const y = new TensorStorage(x.dtype, x.size);
  kernels.relu(x.storage, y);
  return record(new Tensor<A>(y, x.shape), [x], (dy) => kernels.reluBackward(x.storage, dy, x.gradOf()));
}

/** sigmoid(x) = 1 / (1 + e^-x); d/dx = y (1 - y). */
export function sigmoid<A extends Axes>(x: Tensor<A>): Tensor<A> {
  return unary('sigmoid', x,
    (X, y) => { for (let i = 0; i < y.length; i++) y[i] = 1 / (1 + Math.exp(-X[i])); },
    (gx, g, _X, y) => { for (let i = 0; i < g.length; i++) gx[i] += g[i] * (y[i] * (1 - y[i])); });
}

/** x + s; d/dx = 1. */
export function addScalar<A extends Axes>(x: Tensor<A>, s: number): Tensor<A> {
  return unary('addScalar', x,
    (X, y) => { for (let i = 0; i < y.length; i++) y[i] = X[i] + s; },
    (gx, g) => { for (let i = 0; i < g.length; i++) gx[i] += g[i]; });
}

/** x · s; d/dx = s. */
export function mulScalar<A extends Axes>(x: Tensor<A>, s: number): Tensor<A> {
  return unary('mulScalar', x,
    (X, y) => { for (let i = 0; i < y.length; i++) y[i] = X[i] * s; },
    (gx, g) => { for (let i = 0; i < g.length; i++) gx[i] += g[i] * s; });
}
