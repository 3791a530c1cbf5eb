/**
 * Every fast primitive of core/ops equals its slow, literal reference (spec/reference/core.ts) on
 * random shapes, in float32 and float64, on every CPU backend (one spec body each): conv2d forward and backward (random kernel, stride and
 * padding, non-square, the 1×1 path), batchnorm (train and eval, running statistics), maxpool,
 * global average pool, GeM, softmax, l2 normalisation, bmm (all transposes), broadcasting
 * elementwise ops, sum over an axis, permute.
 */
import { expect, it } from 'vitest';
import fc from 'fast-check';
import { Tensor, type DType } from '../core/tensor.ts';
import { backward } from '../core/autograd.ts';
import { Rng } from '../core/random.ts';
import * as F from '../core/ops/index.ts';
import * as R from './reference/core.ts';
import { describeEachBackend } from './kernels/each-backend.ts';

const seedArb = fc.integer({ min: 0, max: 1e6 });
const dtypeArb = fc.constantFrom<DType>('float32', 'float64');

function rand(shape: readonly number[], rng: Rng, dtype: DType, lo = -1, hi = 1): Tensor {
  const t = Tensor.zeros(shape, dtype);
  for (let i = 0; i < t.size; i++) t.data[i] = rng.uniform(lo, hi);
  return t;
}

/** max|got − want| / max(max|want|, 1) within the tolerance of the storage type. */
function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, dtype: DType, what: string): void {
  expect(got.length, `${what}: length`).toBe(want.length);
  let scale = 1, worst = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]));
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
  expect(worst / scale, what).toBeLessThanOrEqual(dtype === 'float32' ? 2e-5 : 1e-11);
}

const convArb = fc.record({
  N: fc.integer({ min: 1, max: 3 }), C: fc.integer({ min: 1, max: 5 }), O: fc.integer({ min: 1, max: 6 }),
  H: fc.integer({ min: 1, max: 9 }), W: fc.integer({ min: 1, max: 9 }),
  kh: fc.integer({ min: 1, max: 4 }), kw: fc.integer({ min: 1, max: 4 }),
  sh: fc.integer({ min: 1, max: 3 }), sw: fc.integer({ min: 1, max: 3 }),
  ph: fc.integer({ min: 0, max: 2 }), pw: fc.integer({ min: 0, max: 2 }),
  bias: fc.boolean(), dtype: dtypeArb, seed: seedArb,
}).filter((g) => g.H + 2 * g.ph >= g.kh && g.W + 2 * g.pw >= g.kw);

function checkConv(g: R.ConvGeometry & { bias: boolean; dtype: DType; seed: number }): void {
  const rng = new Rng(g.seed);
  const x = rand([g.N, g.C, g.H, g.W], rng, g.dtype);
  const w = rand([g.O, g.C, g.kh, g.kw], rng, g.dtype);
  const b = g.bias ? rand([g.O], rng, g.dtype) : null;
  for (const t of [x, w, b]) if (t) t.requiresGrad = true;
  const y = F.conv2d(x, w, b, { stride: [g.sh, g.sw], padding: [g.ph, g.pw] });
  const [Ho, Wo] = R.convOut(g);
  expect(y.shape).toEqual([g.N, g.O, Ho, Wo]);
  expectClose(y.data, R.conv2dReference(x.data, w.data, b?.data ?? null, g), g.dtype, 'conv2d forward');
  const gy = rand(y.shape, rng, g.dtype);
  backward(y, gy.data);
  const ref = R.conv2dBackwardReference(x.data, w.data, gy.data, g);
  expectClose(x.grad!, ref.dx, g.dtype, 'conv2d dx');
  expectClose(w.grad!, ref.dw, g.dtype, 'conv2d dw');
  if (b) expectClose(b.grad!, ref.db, g.dtype, 'conv2d db');
}

describeEachBackend('conv2d equals the six-loop reference', () => {
  it('random kernel, stride, padding (non-square), forward, dx, dw, db', () => {
    fc.assert(fc.property(convArb, checkConv), { numRuns: 120 });
  });

  it('1x1 stride-1 unpadded fast path (no im2col)', () => {
    const arb = fc.record({
      N: fc.integer({ min: 1, max: 3 }), C: fc.integer({ min: 1, max: 9 }), O: fc.integer({ min: 1, max: 9 }),
      H: fc.integer({ min: 1, max: 7 }), W: fc.integer({ min: 1, max: 7 }), bias: fc.boolean(), dtype: dtypeArb, seed: seedArb,
    });
    fc.assert(fc.property(arb, (g) => checkConv({ ...g, kh: 1, kw: 1, sh: 1, sw: 1, ph: 0, pw: 0 })), { numRuns: 60 });
  });
});

describeEachBackend('batchnorm equals the reference', () => {
  it('training and eval, 1d and 2d, running statistics moved by momentum (unbiased variance)', () => {
    const arb = fc.record({
      N: fc.integer({ min: 1, max: 4 }), C: fc.integer({ min: 1, max: 5 }), spatial: fc.constantFrom<number[]>([], [3, 2], [1, 4], [2, 2]),
      training: fc.boolean(), momentum: fc.constantFrom(0.1, 0.3), eps: fc.constantFrom(1e-5, 1e-3), dtype: dtypeArb, seed: seedArb,
    }).filter((c) => !c.training || c.N * c.spatial.reduce((a, b) => a * b, 1) > 1);
    fc.assert(fc.property(arb, (c) => {
      const rng = new Rng(c.seed);
      const shape = [c.N, c.C, ...c.spatial];
      const x = rand(shape, rng, c.dtype, -2, 3);
      const gamma = rand([c.C], rng, c.dtype), beta = rand([c.C], rng, c.dtype);
      const rm = rand([c.C], rng, c.dtype), rv = rand([c.C], rng, c.dtype, 0.5, 2);
      const want = R.batchNormReference(x.data, shape, gamma.data, beta.data, rm.data, rv.data, c.training, c.momentum, c.eps);
      const y = F.batchNorm(x, gamma, beta, rm, rv, { training: c.training, momentum: c.momentum, eps: c.eps });
      expectClose(y.data, want.y, c.dtype, 'batchnorm y');
      expectClose(rm.data, want.runningMean, c.dtype, 'running_mean');
      expectClose(rv.data, want.runningVar, c.dtype, 'running_var');
    }), { numRuns: 80 });
  });
});

describeEachBackend('batchnorm, relu, add, maxpool in float32 at a real shape (the kernels past their small-size cut-off)', () => {
  it('batchnorm train and eval at [32, 64, 32, 16]; relu and add on it; the stem maxpool at [32, 8, 64, 32]', () => {
    const rng = new Rng(7);
    const shape = [32, 64, 32, 16];
    const x = rand(shape, rng, 'float32', -2, 3);
    const gamma = rand([64], rng, 'float32'), beta = rand([64], rng, 'float32');
    for (const training of [true, false]) {
      const rm = rand([64], rng, 'float32'), rv = rand([64], rng, 'float32', 0.5, 2);
      const want = R.batchNormReference(x.data, shape, gamma.data, beta.data, rm.data, rv.data, training, 0.1, 1e-5);
      const y = F.batchNorm(x, gamma, beta, rm, rv, { training, momentum: 0.1, eps: 1e-5 });
      expectClose(y.data, want.y, 'float32', `batchnorm y (training ${training})`);
      expectClose(rm.data, want.runningMean, 'float32', 'running_mean');
      expectClose(rv.data, want.runningVar, 'float32', 'running_var');
    }
    const b = rand(shape, rng, 'float32');
    expectClose(F.relu(x).data, Array.from(x.data, (v) => Math.max(v, 0)), 'float32', 'relu');
    expectClose(F.add(x, b).data, Array.from(x.data, (v, i) => v + b.data[i]), 'float32', 'add');
    const p = rand([32, 8, 64, 32], rng, 'float32');
    const pooled = F.maxPool2d(p, { kernel: [3, 3], stride: [2, 2], padding: [1, 1] });
    expectClose(pooled.data, R.maxPool2dReference(p.data, p.shape, 3, 3, 2, 2, 1, 1), 'float32', 'maxpool y');
  });
});

describeEachBackend('pooling equals the reference', () => {
  it('maxpool2d with random kernel, stride, padding; gradient goes to the window maximum', () => {
    const arb = fc.record({
      N: fc.integer({ min: 1, max: 2 }), C: fc.integer({ min: 1, max: 3 }), H: fc.integer({ min: 1, max: 8 }), W: fc.integer({ min: 1, max: 8 }),
      kh: fc.integer({ min: 1, max: 3 }), kw: fc.integer({ min: 1, max: 3 }), sh: fc.integer({ min: 1, max: 3 }), sw: fc.integer({ min: 1, max: 3 }),
      ph: fc.integer({ min: 0, max: 1 }), pw: fc.integer({ min: 0, max: 1 }), dtype: dtypeArb, seed: seedArb,
    }).filter((c) => c.ph <= Math.floor(c.kh / 2) && c.pw <= Math.floor(c.kw / 2) && c.H + 2 * c.ph >= c.kh && c.W + 2 * c.pw >= c.kw);
    fc.assert(fc.property(arb, (c) => {
      const rng = new Rng(c.seed);
      const x = rand([c.N, c.C, c.H, c.W], rng, c.dtype);
      x.requiresGrad = true;
      const y = F.maxPool2d(x, { kernel: [c.kh, c.kw], stride: [c.sh, c.sw], padding: [c.ph, c.pw] });
      expectClose(y.data, R.maxPool2dReference(x.data, x.shape, c.kh, c.kw, c.sh, c.sw, c.ph, c.pw), c.dtype, 'maxpool y');
      // Σ dx = Σ dy, and every nonzero dx sits on a value some window output equals.
      const gy = rand(y.shape, rng, c.dtype);
      backward(y, gy.data);
      const sum = (a: ArrayLike<number>) => Array.from(a).reduce((s, v) => s + v, 0);
      expect(Math.abs(sum(x.grad!) - sum(gy.data))).toBeLessThan(1e-4);
      const outs = new Set(Array.from(y.data));
      x.grad!.forEach((g, i) => { if (g !== 0) expect(outs.has(x.data[i])).toBe(true); });
    }), { numRuns: 80 });
  });

  it('global average pool and GeM', () => {
    const arb = fc.record({
      N: fc.integer({ min: 1, max: 3 }), C: fc.integer({ min: 1, max: 4 }), H: fc.integer({ min: 1, max: 6 }), W: fc.integer({ min: 1, max: 6 }),
      p: fc.double({ min: 1, max: 6, noNaN: true }), dtype: dtypeArb, seed: seedArb,
    });
    fc.assert(fc.property(arb, (c) => {
      const rng = new Rng(c.seed);
      const shape = [c.N, c.C, c.H, c.W];
      const x = rand(shape, rng, c.dtype, -0.5, 2);
      expectClose(F.globalAvgPool(x).data, R.avgPoolReference(x.data, shape), c.dtype, 'avgpool');
      const p = Tensor.full([1], c.p, c.dtype);
      expectClose(F.gem(x, p, 1e-6).data, R.gemReference(x.data, shape, p.data[0], 1e-6), c.dtype, 'gem');
    }), { numRuns: 60 });
  });
});

describeEachBackend('softmax, l2 normalisation, bmm equal the references', () => {
  it('softmax and l2 normalise along the last axis', () => {
    const arb = fc.record({ rows: fc.integer({ min: 1, max: 5 }), D: fc.integer({ min: 1, max: 12 }), scale: fc.constantFrom(1, 30), dtype: dtypeArb, seed: seedArb });
    fc.assert(fc.property(arb, (c) => {
      const rng = new Rng(c.seed);
      const x = rand([c.rows, c.D], rng, c.dtype, -c.scale, c.scale);
      expectClose(F.softmax(x).data, R.softmaxReference(x.data, c.D), c.dtype, 'softmax');
      expectClose(F.l2Normalize(x, 1e-12).data, R.l2NormalizeReference(x.data, c.D, 1e-12), c.dtype, 'l2 normalise');
    }), { numRuns: 60 });
    // A zero row is divided by eps, not by 0.
    const z = F.l2Normalize(Tensor.zeros([1, 3], 'float64'), 1e-12);
    expect(Array.from(z.data)).toEqual([0, 0, 0]);
  });

  it('bmm with every transpose combination and several batch axes', () => {
    const arb = fc.record({
      batch: fc.constantFrom<number[]>([1], [3], [2, 2]), M: fc.integer({ min: 1, max: 9 }), N: fc.integer({ min: 1, max: 9 }), K: fc.integer({ min: 1, max: 9 }),
      transA: fc.boolean(), transB: fc.boolean(), dtype: dtypeArb, seed: seedArb,
    });
    fc.assert(fc.property(arb, (c) => {
      const rng = new Rng(c.seed);
      const a = rand([...c.batch, ...(c.transA ? [c.K, c.M] : [c.M, c.K])], rng, c.dtype);
      const b = rand([...c.batch, ...(c.transB ? [c.N, c.K] : [c.K, c.N])], rng, c.dtype);
      const y = F.bmm(a, b, c.transA, c.transB);
      const B = c.batch.reduce((s, v) => s * v, 1);
      expect(y.shape).toEqual([...c.batch, c.M, c.N]);
      expectClose(y.data, R.bmmReference(a.data, b.data, B, c.M, c.N, c.K, c.transA, c.transB), c.dtype, 'bmm');
    }), { numRuns: 60 });
  });
});

describeEachBackend('broadcasting elementwise, sum, permute equal the references', () => {
  // Two shapes that broadcast: each axis of the longer one is kept or set to 1 in the other.
  const pairArb = fc.record({
    shape: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 }),
    ones: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
    drop: fc.integer({ min: 0, max: 3 }), swap: fc.boolean(), dtype: dtypeArb, seed: seedArb,
  }).map((c) => {
    const other = c.shape.map((d, i) => (c.ones[i] ? 1 : d)).slice(Math.min(c.drop, c.shape.length - 1));
    return { ...c, a: c.swap ? other : c.shape, b: c.swap ? c.shape : other };
  });

  it('add, sub, mul, div with numpy broadcasting, and their gradients summed over stretched axes', () => {
    const ops = [
      { f: F.add, ref: (x: number, y: number) => x + y },
      { f: F.sub, ref: (x: number, y: number) => x - y },
      { f: F.mul, ref: (x: number, y: number) => x * y },
      { f: F.div, ref: (x: number, y: number) => x / y },
    ];
    fc.assert(fc.property(pairArb, fc.integer({ min: 0, max: 3 }), (c, k) => {
      const rng = new Rng(c.seed);
      const a = rand(c.a, rng, c.dtype, 0.5, 2);
      const b = rand(c.b, rng, c.dtype, 0.5, 2);
      a.requiresGrad = b.requiresGrad = true;
      const { f, ref } = ops[k];
      const y = f(a, b);
      const want = R.broadcastReference(a.data, a.shape, b.data, b.shape, ref);
      expect(y.shape).toEqual(want.shape);
      expectClose(y.data, want.y, c.dtype, 'broadcast forward');
      // Reference gradient: d/da Σ y·g by central differences per element is covered in
      // core-grad.test.ts; here: the gradient of a broadcast input is the sum over its copies.
      const g = rand(y.shape, rng, c.dtype);
      backward(y, g.data);
      const ones = (shape: number[]) => new Float64Array(shape.reduce((s, v) => s * v, 1)).fill(1);
      const partial = (which: 'a' | 'b') => R.broadcastReference(a.data, a.shape, b.data, b.shape, (x, z) => {
        if (k <= 1) return which === 'a' ? 1 : k === 0 ? 1 : -1;
        if (k === 2) return which === 'a' ? z : x;
        return which === 'a' ? 1 / z : -x / (z * z);
      }).y;
      for (const [t, which] of [[a, 'a'], [b, 'b']] as const) {
        const contrib = R.broadcastReference(partial(which), want.shape, g.data, want.shape, (p, q) => p * q).y;
        // sum the contributions back onto t's shape: broadcast t's own index as the reduction key
        const back = new Float64Array(t.size);
        const tShape = [...new Array(want.shape.length - t.rank).fill(1), ...t.shape];
        for (let o = 0; o < contrib.length; o++) {
          const idx = R.unravel(o, want.shape).map((v, i) => (tShape[i] === 1 ? 0 : v));
          back[R.ravel(idx, tShape)] += contrib[o];
        }
        expect(ones(t.shape).length).toBe(back.length);
        expectClose(t.grad!, back, c.dtype, `broadcast d${which}`);
      }
    }), { numRuns: 80 });
    expect(() => F.add(Tensor.zeros([2, 3]), Tensor.zeros([4]))).toThrow(/add: shapes \[2,3\] and \[4\] do not broadcast/);
  });

  it('sum over an axis (keepdim) and permute', () => {
    const arb = fc.record({
      shape: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 }),
      axisSeed: fc.nat(), perm: fc.array(fc.nat(), { minLength: 4, maxLength: 4 }), dtype: dtypeArb, seed: seedArb,
    });
    fc.assert(fc.property(arb, (c) => {
      const rng = new Rng(c.seed);
      const x = rand(c.shape, rng, c.dtype);
      const axis = c.axisSeed % c.shape.length;
      const s = F.sum(x, axis);
      expect(s.shape).toEqual(c.shape.map((d, i) => (i === axis ? 1 : d)));
      expectClose(s.data, R.sumReference(x.data, c.shape, axis), c.dtype, 'sum');
      const order = c.shape.map((_, i) => i).sort((i, j) => c.perm[i] - c.perm[j] || i - j);
      const p = F.permute(x, order);
      expect(p.shape).toEqual(order.map((o) => c.shape[o]));
      expectClose(p.data, R.permuteReference(x.data, c.shape, order), c.dtype, 'permute');
      // permute's backward is the inverse permutation
      x.requiresGrad = true;
      const q = F.permute(x, order);
      const g = rand(q.shape, rng, c.dtype);
      backward(q, g.data);
      const inverse = order.map((_, i) => order.indexOf(i));
      expectClose(x.grad!, R.permuteReference(g.data, q.shape, inverse), c.dtype, 'permute backward');
    }), { numRuns: 80 });
  });
});
