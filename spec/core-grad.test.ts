/**
 * Float64 finite-difference gradient checks (spec/gradcheck.ts) for every differentiable
 * primitive of core/ops, on random shapes: elementwise (broadcasting) add/sub/mul/div, scalar ops,
 * relu, sigmoid, reshape, permute, sum, mean, softmax, bmm (all transposes), linear, conv2d
 * (random kernel/stride/padding), batchnorm (train and eval), l2 normalisation, maxpool,
 * global average pool, GeM (x and p).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Tensor } from '../core/tensor.ts';
import { Rng } from '../core/random.ts';
import * as F from '../core/ops/index.ts';
import { gradcheck, randomTensor } from './gradcheck.ts';

const seedArb = fc.integer({ min: 0, max: 1e6 });
const shapeArb = fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 });

/** Values in ±[0.2, 1.2]: away from the kink of relu and the pole of div. */
function awayFromZero(shape: readonly number[], rng: Rng): Tensor {
  const t = randomTensor(shape, rng, [0.2, 1.2]);
  for (let i = 0; i < t.size; i++) if (rng.next() < 0.5) t.data[i] = -t.data[i];
  return t;
}

/** Distinct values (spaced ≥ 0.01 apart), so a max never ties, even after a perturbation of 1e-6. */
function distinct(shape: readonly number[], rng: Rng): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const values = rng.shuffle(Array.from({ length: n }, (_, i) => (i - n / 2) * 0.01));
  return new Tensor(Float64Array.from(values), shape);
}

const check = (f: (...xs: Tensor[]) => Tensor, inputs: Tensor[], names?: string[]) => {
  const r = gradcheck(f, inputs, { names });
  expect(r.worst).toBeLessThanOrEqual(1e-6);
  expect(r.checked).toBeGreaterThan(0);
};

describe('gradients of elementwise primitives match central differences', () => {
  it('add, sub, mul, div with broadcasting', () => {
    fc.assert(fc.property(shapeArb, fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }), fc.integer({ min: 0, max: 3 }), seedArb, (shape, ones, k, seed) => {
      const rng = new Rng(seed);
      const a = awayFromZero(shape, rng);
      const b = awayFromZero(shape.map((d, i) => (ones[i] ? 1 : d)).slice(shape.length > 1 && ones[2] ? 1 : 0), rng);
      const op = [F.add, F.sub, F.mul, F.div][k];
      check(op, [a, b], ['a', 'b']);
      check((x, y) => op(y, x), [a, b], ['a', 'b']);
    }), { numRuns: 20 });
  });

  it('addScalar, mulScalar, relu, sigmoid', () => {
    fc.assert(fc.property(shapeArb, seedArb, (shape, seed) => {
      const rng = new Rng(seed);
      const x = awayFromZero(shape, rng);
      check((t) => F.addScalar(t, 0.7), [x]);
      check((t) => F.mulScalar(t, -1.3), [x]);
      check(F.relu, [x]);
      check(F.sigmoid, [x]);
    }), { numRuns: 10 });
  });
});

describe('gradients of shape and reduction primitives', () => {
  it('reshape, permute, sum over an axis, mean', () => {
    fc.assert(fc.property(shapeArb, fc.nat(), seedArb, (shape, axisSeed, seed) => {
      const rng = new Rng(seed);
      const x = randomTensor(shape, rng);
      const axis = axisSeed % shape.length;
      const order = rng.shuffle(shape.map((_, i) => i));
      // multiply by a fixed tensor so that a wrong layout of the gradient shows up
      const w = randomTensor([x.size], rng);
      check((t) => F.mul(F.reshape(t, [-1]), w), [x]);
      check((t) => F.permute(t, order), [x]);
      check((t) => F.sum(t, axis), [x]);
      check((t) => F.mean(t), [x]);
    }), { numRuns: 10 });
  });

  it('softmax and l2 normalisation along the last axis', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 7 }), seedArb, (rows, D, seed) => {
      const rng = new Rng(seed);
      const x = randomTensor([rows, D], rng);
      check(F.softmax, [x]);
      check((t) => F.l2Normalize(t, 1e-12), [x]);
    }), { numRuns: 15 });
  });
});

describe('gradients of matrix products', () => {
  it('bmm with every transpose combination', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 5 }), fc.boolean(), fc.boolean(), seedArb,
      (M, N, K, tA, tB, seed) => {
        const rng = new Rng(seed);
        const a = randomTensor([2, ...(tA ? [K, M] : [M, K])], rng);
        const b = randomTensor([2, ...(tB ? [N, K] : [K, N])], rng);
        check((x, y) => F.bmm(x, y, tA, tB), [a, b], ['a', 'b']);
      }), { numRuns: 20 });
  });

  it('linear with and without bias', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 6 }), seedArb, (n, i, o, seed) => {
      const rng = new Rng(seed);
      const x = randomTensor([n, i], rng), w = randomTensor([o, i], rng), b = randomTensor([o], rng);
      check((p, q, r) => F.linear(p, q, r), [x, w, b], ['x', 'w', 'b']);
      check((p, q) => F.linear(p, q, null), [x, w], ['x', 'w']);
    }), { numRuns: 15 });
  });
});

describe('gradients of conv, norm and pooling primitives', () => {
  it('conv2d with random kernel, stride and padding', () => {
    const arb = fc.record({
      N: fc.integer({ min: 1, max: 2 }), C: fc.integer({ min: 1, max: 3 }), O: fc.integer({ min: 1, max: 3 }),
      H: fc.integer({ min: 2, max: 6 }), W: fc.integer({ min: 2, max: 6 }), kh: fc.integer({ min: 1, max: 3 }), kw: fc.integer({ min: 1, max: 3 }),
      sh: fc.integer({ min: 1, max: 2 }), sw: fc.integer({ min: 1, max: 2 }), ph: fc.integer({ min: 0, max: 1 }), pw: fc.integer({ min: 0, max: 1 }), seed: seedArb,
    }).filter((g) => g.H + 2 * g.ph >= g.kh && g.W + 2 * g.pw >= g.kw);
    fc.assert(fc.property(arb, (g) => {
      const rng = new Rng(g.seed);
      const x = randomTensor([g.N, g.C, g.H, g.W], rng), w = randomTensor([g.O, g.C, g.kh, g.kw], rng), b = randomTensor([g.O], rng);
      check((p, q, r) => F.conv2d(p, q, r, { stride: [g.sh, g.sw], padding: [g.ph, g.pw] }), [x, w, b], ['x', 'w', 'b']);
    }), { numRuns: 20 });
  });

  it('batchnorm in training (batch statistics) and eval (running statistics)', () => {
    fc.assert(fc.property(fc.integer({ min: 2, max: 4 }), fc.integer({ min: 1, max: 3 }), fc.constantFrom<number[]>([], [2, 3]), fc.boolean(), seedArb,
      (N, C, spatial, training, seed) => {
        const rng = new Rng(seed);
        const x = randomTensor([N, C, ...spatial], rng), gamma = randomTensor([C], rng), beta = randomTensor([C], rng);
        const rm = randomTensor([C], rng), rv = randomTensor([C], rng, [0.5, 2]);
        // the running statistics move on every call in training; copies keep the check pure
        check((p, q, r) => F.batchNorm(p, q, r, rm.clone(), rv.clone(), { training, momentum: 0.1, eps: 1e-5 }), [x, gamma, beta], ['x', 'gamma', 'beta']);
      }), { numRuns: 20 });
  });

  it('maxpool2d, global average pool, GeM (x and p)', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 2, max: 6 }), fc.integer({ min: 2, max: 6 }),
      fc.double({ min: 1.5, max: 5, noNaN: true }), seedArb, (N, C, H, W, p0, seed) => {
        const rng = new Rng(seed);
        check((t) => F.maxPool2d(t, { kernel: [2, 3], stride: [2, 1], padding: [1, 1] }), [distinct([N, C, H, W], rng)]);
        check((t) => F.maxPool2d(t, { kernel: [2, 2], stride: [2, 2], padding: [0, 0] }), [distinct([N, C, H, W], rng)]);
        check(F.globalAvgPool, [randomTensor([N, C, H, W], rng)]);
        const x = randomTensor([N, C, H, W], rng, [0.1, 2]);
        check((t, p) => F.gem(t, p, 1e-6), [x, Tensor.full([1], p0, 'float64')], ['x', 'p']);
      }), { numRuns: 15 });
  });
});
