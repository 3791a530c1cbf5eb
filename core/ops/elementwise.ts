/**
 * Elementwise primitives with numpy-style broadcasting: add, sub, mul, div, and the unary
 * addScalar, mulScalar, relu, sigmoid. Forward and backward of each side by side.
 * A broadcast input's gradient is the output gradient summed over the axes it was stretched along.
 * Same-shape add, relu and addInto run the active backend's kernels (core/kernels/elementwise.ts).
 */
import { Tensor, allocUnzeroed, ShapeError, sameShape, type Axes, type Storage } from '../tensor.ts';
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

/** Visit every output index with the matching flat offsets into a and b. */
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

type Binary = {
  name: string;
  f: (a: number, b: number) => number;
  /** d out / d a and d out / d b at (a, b). */
  da: (a: number, b: number) => number;
  db: (a: number, b: number) => number;
};

function binary(def: Binary) {
  return <A extends Axes>(a: Tensor<A>, b: Tensor<any>): Tensor<A> => {
    const shape = sameShape(a.shape, b.shape) ? a.shape : broadcastShape(a.shape, b.shape, def.name);
    const out = new Tensor<A>(allocUnzeroed(a.dtype, shape.reduce((x, y) => x * y, 1)), shape);
    const y = out.data, A = a.data, B = b.data;
    const same = sameShape(a.shape, b.shape);
    const sa = same ? [] : broadcastStrides(a.shape, shape);
    const sb = same ? [] : broadcastStrides(b.shape, shape);
    if (same) for (let i = 0; i < y.length; i++) y[i] = def.f(A[i], B[i]);
    else forEachBroadcast(shape, sa, sb, (o, ia, ib) => { y[o] = def.f(A[ia], B[ib]); });
    return record(out, [a, b], (g) => {
      const ga = a.requiresGrad ? a.gradBuffer() : null;
      const gb = b.requiresGrad ? b.gradBuffer() : null;
      if (same) {
        for (let i = 0; i < g.length; i++) {
          if (ga) ga[i] += g[i] * def.da(A[i], B[i]);
          if (gb) gb[i] += g[i] * def.db(A[i], B[i]);
        }
      } else {
        forEachBroadcast(shape, sa, sb, (o, ia, ib) => {
          if (ga) ga[ia] += g[o] * def.da(A[ia], B[ib]);
          if (gb) gb[ib] += g[o] * def.db(A[ia], B[ib]);
        });
      }
    });
  };
}

const addBroadcast = binary({ name: 'add', f: (a, b) => a + b, da: () => 1, db: () => 1 });

/** a + b; written out for equal shapes (every residual connection), broadcasting otherwise. */
export function add<A extends Axes>(a: Tensor<A>, b: Tensor<any>): Tensor<A> {
  if (!sameShape(a.shape, b.shape)) return addBroadcast(a, b);
  const y = allocUnzeroed(a.dtype, a.size);
  kernels.add(a.data, b.data, y);
  return record(new Tensor<A>(y, a.shape), [a, b], (g) => {
    if (a.requiresGrad) addInto(a.gradBuffer(), g);
    if (b.requiresGrad) addInto(b.gradBuffer(), g);
  });
}
export const sub = binary({ name: 'sub', f: (a, b) => a - b, da: () => 1, db: () => -1 });
export const mul = binary({ name: 'mul', f: (a, b) => a * b, da: (_a, b) => b, db: (a) => a });
export const div = binary({ name: 'div', f: (a, b) => a / b, da: (_a, b) => 1 / b, db: (a, b) => -a / (b * b) });

function unary(name: string, f: (x: number) => number, dfdx: (x: number, y: number) => number) {
  return <A extends Axes>(x: Tensor<A>): Tensor<A> => {
    const X = x.data;
    const y = allocUnzeroed(x.dtype, x.size);
    for (let i = 0; i < y.length; i++) y[i] = f(X[i]);
    const out = new Tensor<A>(y, x.shape);
    out.name = name;
    return record(out, [x], (g) => {
      const gx = x.gradBuffer();
      for (let i = 0; i < g.length; i++) gx[i] += g[i] * dfdx(X[i], y[i]);
    });
  };
}

/** relu(x) = max(x, 0); d/dx = [x > 0]. Written out: it follows every BatchNorm. */
export function relu<A extends Axes>(x: Tensor<A>): Tensor<A> {
  const y = allocUnzeroed(x.dtype, x.size);
  kernels.relu(x.data, y);
  return record(new Tensor<A>(y, x.shape), [x], (g) => kernels.reluBackward(x.data, g, x.gradBuffer()));
}

/** sigmoid(x) = 1 / (1 + e^-x); d/dx = y (1 - y). */
export const sigmoid = unary('sigmoid', (x) => 1 / (1 + Math.exp(-x)), (_x, y) => y * (1 - y));

export function addScalar<A extends Axes>(x: Tensor<A>, s: number): Tensor<A> {
  return unary('addScalar', (v) => v + s, () => 1)(x);
}

export function mulScalar<A extends Axes>(x: Tensor<A>, s: number): Tensor<A> {
  return unary('mulScalar', (v) => v * s, () => s)(x);
}

/** In-place y += x for plain buffers of one type and length (no tape). */
export function addInto(y: Storage, x: Storage): void {
  kernels.addInto(y, x);
}
