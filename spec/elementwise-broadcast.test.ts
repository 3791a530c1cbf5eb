/**
 * The broadcasting elementwise ops (core/ops/elementwise.ts) against a slow, obvious reference:
 * one output element at a time, its input offsets from index arithmetic, and the gradient sums
 * accumulated in output order (ga then gb at each output index), with the derivative formulas
 * written as products (g · 1, g · -1, g · (1 / b), ...). Exact equality (Object.is per element),
 * float32 and float64, forward and both gradients, on random shapes and on the attention shapes of
 * the default tiny model (layer4 8x4 positions, batch 32, 64 channels, 4 heads); on every backend
 * (their kernels, core/kernels/broadcast.ts and unary.ts), the simulated device included.
 */
import { expect, it } from 'vitest';
import fc from 'fast-check';
import { Tensor, type DType, type Storage } from '../core/tensor.ts';
import { backward } from '../core/autograd.ts';
import { Rng } from '../core/random.ts';
import * as F from '../core/ops/index.ts';
import { describeEachBackend } from './kernels/each-backend.ts';

type Op = 'add' | 'sub' | 'mul' | 'div';
const ops: Record<Op, (a: Tensor, b: Tensor) => Tensor> = { add: F.add, sub: F.sub, mul: F.mul, div: F.div };
const ref: Record<Op, { f: (a: number, b: number) => number; da: (a: number, b: number) => number; db: (a: number, b: number) => number }> = {
  add: { f: (a, b) => a + b, da: () => 1, db: () => 1 },
  sub: { f: (a, b) => a - b, da: () => 1, db: () => -1 },
  mul: { f: (a, b) => a * b, da: (_a, b) => b, db: (a) => a },
  div: { f: (a, b) => a / b, da: (_a, b) => 1 / b, db: (a, b) => -a / (b * b) },
};

const storage = (dtype: DType, n: number): Storage => (dtype === 'float32' ? new Float32Array(n) : new Float64Array(n));

/** Random values in ±[0.1, 2], some of them exactly 0 (a zero b makes div produce ±Infinity or NaN). */
function random(dtype: DType, n: number, rng: Rng): Storage {
  const s = storage(dtype, n);
  for (let i = 0; i < n; i++) s[i] = rng.next() < 0.05 ? 0 : (rng.next() < 0.5 ? -1 : 1) * rng.uniform(0.1, 2);
  return s;
}

function tensor(shape: readonly number[], dtype: DType, rng: Rng, requiresGrad: boolean): Tensor {
  const n = shape.reduce((x, y) => x * y, 1);
  const t = new Tensor(random(dtype, n, rng), shape, requiresGrad);
  if (requiresGrad) t.grad = random(dtype, n, rng); // accumulate onto earlier contributions
  return t;
}

/** The first index where the arrays differ (Object.is), or -1. */
function firstDifference(x: ArrayLike<number>, y: ArrayLike<number>): number {
  if (x.length !== y.length) return 0;
  for (let i = 0; i < x.length; i++) if (!Object.is(x[i], y[i])) return i;
  return -1;
}

function expectSame(actual: Storage | null, expected: Storage | null, what: string): void {
  expect(actual?.constructor, what).toBe(expected?.constructor);
  if (!actual || !expected) return;
  const i = firstDifference(actual, expected);
  expect(i, `${what}: first difference at ${i}: ${actual[i]} vs ${expected[i]}`).toBe(-1);
}

/** Flat offset into `shape` (trailing axes aligned with `out`) of the output multi-index `idx`. */
function offset(shape: readonly number[], out: readonly number[], idx: readonly number[]): number {
  let off = 0;
  for (let i = 0; i < shape.length; i++) {
    const d = out.length - shape.length + i;
    off = off * shape[i] + (shape[i] === 1 ? 0 : idx[d]);
  }
  return off;
}

/** The reference forward and backward of `op` on copies of a's and b's data and gradients. */
function reference(op: Op, a: Tensor, b: Tensor, g: Storage) {
  const out = F.broadcastShape(a.shape, b.shape, op);
  const total = out.reduce((x, y) => x * y, 1);
  const y = storage(a.dtype, total);
  const ga = a.requiresGrad ? a.grad!.slice() : null;
  const gb = b.requiresGrad ? (a === b ? ga : b.grad!.slice()) : null;
  const idx = new Array<number>(out.length).fill(0);
  for (let o = 0; o < total; o++) {
    let rest = o;
    for (let d = out.length - 1; d >= 0; d--) {
      idx[d] = rest % out[d];
      rest = Math.floor(rest / out[d]);
    }
    const ia = offset(a.shape, out, idx), ib = offset(b.shape, out, idx);
    const A = a.data[ia], B = b.data[ib];
    y[o] = ref[op].f(A, B);
    if (ga) ga[ia] += g[o] * ref[op].da(A, B);
    if (gb) gb[ib] += g[o] * ref[op].db(A, B);
  }
  return { y, ga, gb };
}

function check(op: Op, a: Tensor, b: Tensor, rng: Rng): void {
  const seed = random(a.dtype, F.broadcastShape(a.shape, b.shape, op).reduce((x, y) => x * y, 1), rng);
  const want = reference(op, a, b, seed);
  const y = ops[op](a, b);
  const where = `${op} [${a.shape}] ${a.dtype} with [${b.shape}] ${b.dtype}`;
  expect(y.shape).toEqual(F.broadcastShape(a.shape, b.shape, op));
  expectSame(y.data, want.y, `${where}: forward`);
  if (a.requiresGrad || b.requiresGrad) backward(y, seed);
  expectSame(a.requiresGrad ? a.grad : null, want.ga, `${where}: grad a`);
  expectSame(b.requiresGrad ? b.grad : null, want.gb, `${where}: grad b`);
}

const dims = fc.constantFrom(1, 2, 3, 5);
const dtypeArb = fc.constantFrom<DType>('float32', 'float64');
/** An output shape and, per input, which axes it keeps (else size 1) and how many leading axes it drops. */
const caseArb = fc.record({
  op: fc.constantFrom<Op>('add', 'sub', 'mul', 'div'),
  out: fc.array(dims, { minLength: 1, maxLength: 4 }),
  keepA: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
  keepB: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
  dropA: fc.integer({ min: 0, max: 3 }),
  dropB: fc.integer({ min: 0, max: 3 }),
  dtypeA: dtypeArb,
  dtypeB: fc.option(dtypeArb),
  gradA: fc.boolean(),
  gradB: fc.boolean(),
  seed: fc.integer({ min: 0, max: 1e6 }),
});

describeEachBackend('broadcasting add/sub/mul/div equal the per-element reference bit for bit', () => {
  it('random shapes of rank 1-4 with size-1 axes, float32 and float64, forward and both gradients', () => {
    fc.assert(fc.property(caseArb, (c) => {
      const rng = new Rng(c.seed);
      const shapeOf = (keep: boolean[], drop: number) => c.out.map((d, i) => (keep[i] ? d : 1)).slice(Math.min(drop, c.out.length - 1));
      const a = tensor(shapeOf(c.keepA, c.dropA), c.dtypeA, rng, c.gradA || !c.gradB);
      const b = tensor(shapeOf(c.keepB, c.dropB), c.dtypeB ?? c.dtypeA, rng, c.gradB);
      check(c.op, a, b, rng);
      // and the other way round
      const a2 = tensor(shapeOf(c.keepB, c.dropB), c.dtypeA, rng, c.gradB);
      const b2 = tensor(shapeOf(c.keepA, c.dropA), c.dtypeB ?? c.dtypeA, rng, c.gradA || !c.gradB);
      check(c.op, a2, b2, rng);
    }), { numRuns: 400 });
  });

  it('one tensor as both inputs (x op x)', () => {
    for (const dtype of ['float32', 'float64'] as const) {
      for (const op of ['add', 'sub', 'mul', 'div'] as const) {
        const x = tensor([3, 5], dtype, new Rng(7), true);
        check(op, x, x, new Rng(8));
      }
    }
  });

  it('scalars, rank-0 and empty tensors', () => {
    const rng = new Rng(3);
    for (const [sa, sb] of [[[], []], [[], [4]], [[4, 1], []], [[1], [1, 1, 1]], [[0, 3], [1, 3]], [[2, 0], [1]]] as number[][][]) {
      check('mul', tensor(sa, 'float32', rng, true), tensor(sb, 'float32', rng, true), rng);
    }
    // numpy's rule: a size-1 axis takes the other's size, 0 included (not max(0, 1) = 1, which read past an empty input)
    expect(F.broadcastShape([0, 3], [1, 3], 'mul')).toEqual([0, 3]);
    expect(F.broadcastShape([2, 1], [0], 'mul')).toEqual([2, 0]);
  });

  it('the attention shapes of the default tiny model (HLA, DLA, PLA at layer4 8x4, batch 32)', () => {
    const rng = new Rng(11);
    const cases: [Op, number[], number[]][] = [
      ['add', [4, 16, 8, 1], [4, 16, 1, 4]], // HLA pos = rel_h + rel_w
      ['add', [32, 4, 16, 32], [4, 16, 32]], // HLA k + pos
      ['add', [32, 4, 32, 32], [1, 4, 32, 32]], // logits-sized, broadcast over the batch
      ['div', [32, 64, 32], [32, 1, 32]], // DLA Norm: a / (eps + sum over c_k)
      ['div', [32, 64, 32], [32, 64, 1]], // the same over the positions
      ['mul', [32, 64, 8, 4], [32, 1, 8, 4]], // PLA with a C→1 conv
      ['mul', [32, 64, 8, 4], [32, 64, 8, 4]], // PLA with a C→C conv
      ['sub', [32, 64, 8, 4], [64, 1, 1]], // a per-channel shift
    ];
    for (const dtype of ['float32', 'float64'] as const) {
      for (const [op, sa, sb] of cases) check(op, tensor(sa, dtype, rng, true), tensor(sb, dtype, rng, true), rng);
    }
  });
});

describeEachBackend('sigmoid, addScalar, mulScalar equal the per-element reference bit for bit', () => {
  const unaries: [string, (x: Tensor) => Tensor, (x: number) => number, (x: number, y: number) => number][] = [
    ['sigmoid', F.sigmoid, (x) => 1 / (1 + Math.exp(-x)), (_x, y) => y * (1 - y)],
    ['addScalar', (x) => F.addScalar(x, 1e-6), (x) => x + 1e-6, () => 1],
    ['mulScalar', (x) => F.mulScalar(x, 0.25 / 3), (x) => x * (0.25 / 3), () => 0.25 / 3],
  ];
  for (const [name, op, f, dfdx] of unaries) {
    it(name, () => {
      fc.assert(fc.property(fc.array(dims, { minLength: 1, maxLength: 4 }), dtypeArb, fc.integer({ min: 0, max: 1e6 }), (shape, dtype, seed) => {
        for (const s of [shape, [32, 64, 8, 4], [128, 32, 32]]) {
          const rng = new Rng(seed);
          const x = tensor(s, dtype, rng, true);
          const seedGrad = random(dtype, x.size, rng);
          const y = storage(dtype, x.size), gx = x.grad!.slice();
          for (let i = 0; i < y.length; i++) y[i] = f(x.data[i]);
          for (let i = 0; i < y.length; i++) gx[i] += seedGrad[i] * dfdx(x.data[i], y[i]);
          const out = op(x);
          expectSame(out.data, y, `${name} [${s}] ${dtype}: forward`);
          backward(out, seedGrad);
          expectSame(x.grad, gx, `${name} [${s}] ${dtype}: grad`);
        }
      }), { numRuns: 10 });
    });
  }
});
