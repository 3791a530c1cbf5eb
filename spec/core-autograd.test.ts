/**
 * The autograd tape and the tensor/random basics: the tape is released after backward (also when
 * a backward closure throws), noGrad records nothing, gradients accumulate over reuse, gradcheck
 * itself rejects a wrong backward, shape errors name the layer and both shapes, and the seeded
 * generator is deterministic with a state that round-trips.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Tensor, ShapeError, expectShape } from '../core/tensor.ts';
import { backward, clearTape, noGrad, record, tapeLength } from '../core/autograd.ts';
import { Rng } from '../core/random.ts';
import * as F from '../core/ops/index.ts';
import { Bottleneck } from '../nn/bottleneck.ts';
import { defaultInit } from '../nn/module.ts';
import { gradcheck, randomTensor } from './gradcheck.ts';

describe('the tape', () => {
  it('is released after backward, through a whole Bottleneck', () => {
    clearTape();
    const block = new Bottleneck(8, 2, 2, defaultInit(3, 'float64'));
    const x = randomTensor([2, 8, 6, 5], new Rng(1));
    x.requiresGrad = true;
    const y = block.forward(x);
    expect(tapeLength()).toBeGreaterThan(10);
    backward(F.mean(y));
    expect(tapeLength()).toBe(0);
    expect(x.grad).not.toBeNull();
    for (const [name, p] of block.namedParameters()) expect(p.grad, name).not.toBeNull();
  });

  it('is released when a backward closure throws', () => {
    clearTape();
    const x = Tensor.full([2], 1, 'float64');
    x.requiresGrad = true;
    const y = record(new Tensor(Float64Array.of(1, 2), [2]), [x], () => { throw new Error('boom'); });
    F.mulScalar(y, 2);
    expect(tapeLength()).toBe(2);
    expect(() => backward(y, Float64Array.of(1, 1))).toThrow('boom');
    expect(tapeLength()).toBe(0);
  });

  it('records nothing under noGrad, and outputs do not require gradients', () => {
    clearTape();
    const block = new Bottleneck(4, 1, 1, defaultInit(5, 'float64'));
    const x = randomTensor([1, 4, 3, 3], new Rng(2));
    x.requiresGrad = true;
    const y = noGrad(() => block.forward(x));
    expect(tapeLength()).toBe(0);
    expect(y.requiresGrad).toBe(false);
    // and recording is back on afterwards
    const z = F.relu(x);
    expect(z.requiresGrad).toBe(true);
    expect(tapeLength()).toBe(1);
    clearTape();
  });

  it('accumulates the gradient of a tensor used twice (d(x·x)/dx = 2x)', () => {
    const x = Tensor.from([1, -2, 3], [3], 'float64');
    x.requiresGrad = true;
    backward(F.mul(x, x), Float64Array.of(1, 1, 1));
    expect(Array.from(x.grad!)).toEqual([2, -4, 6]);
  });

  it('gradcheck rejects a primitive whose backward is wrong', () => {
    // y = x² with the backward 3x instead of 2x
    const square = (x: Tensor) => {
      const y = new Tensor(x.data.map((v) => v * v), x.shape);
      return record(y, [x], (dy) => { const g = dy.read(), gx = x.gradBuffer(); for (let i = 0; i < g.length; i++) gx[i] += 3 * x.data[i] * g[i]; });
    };
    expect(() => gradcheck(square, [randomTensor([4], new Rng(0))], { names: ['x'] })).toThrow(/d\/d x\[\d\]/);
  });
});

describe('shape errors name the layer and both shapes', () => {
  it('conv2d, linear, bmm, batchnorm, expectShape', () => {
    const ctx = defaultInit(0, 'float64');
    const block = new Bottleneck(8, 2, 1, ctx);
    expect(() => block.forward(Tensor.zeros([1, 5, 4, 4], 'float64'))).toThrow(/Conv2d 8->2: input \[1,5,4,4\] does not fit weight \[2,8,1,1\]/);
    expect(() => F.linear(Tensor.zeros([2, 3]), Tensor.zeros([4, 5]), null)).toThrow(/linear: x \[2,3\], weight \[4,5\]/);
    expect(() => F.bmm(Tensor.zeros([2, 3, 4]), Tensor.zeros([2, 5, 6]))).toThrow(/bmm: inner sizes differ: \[2,3,4\] x \[2,5,6\]/);
    expect(() => F.batchNorm(Tensor.zeros([2, 3]), Tensor.zeros([4]), Tensor.zeros([4]), Tensor.zeros([4]), Tensor.zeros([4]),
      { training: true, momentum: 0.1, eps: 1e-5 }, 'BatchNorm(4)')).toThrow(/BatchNorm\(4\): input \[2,3\]/);
    expect(() => expectShape(Tensor.zeros([2, 3]), [2, 4], 'eq. (1) ClusterNCE', 'features')).toThrow(ShapeError);
    expect(() => expectShape(Tensor.zeros([2, 3]), [2, 4], 'eq. (1) ClusterNCE', 'features')).toThrow(/eq\. \(1\) ClusterNCE: features has shape \[2,3\], expected \[2,4\]/);
  });
});

describe('Rng', () => {
  it('is deterministic per seed, and its state round-trips mid-stream', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: 50 }), (seed, skip) => {
      const a = new Rng(seed), b = new Rng(seed);
      const draws = (r: Rng) => [r.nextUint32(), r.next(), r.normal(), r.int(7), r.uniform(-2, 3)];
      expect(draws(a)).toEqual(draws(b));
      for (let i = 0; i < skip; i++) a.next();
      const saved = a.state();
      const expected = draws(a);
      const c = new Rng(12345);
      c.setState(saved);
      expect(draws(c)).toEqual(expected);
      // ranges hold
      for (let i = 0; i < 20; i++) {
        const u = a.next();
        expect(u >= 0 && u < 1).toBe(true);
        const k = a.int(5);
        expect(Number.isInteger(k) && k >= 0 && k < 5).toBe(true);
      }
    }), { numRuns: 50 });
    expect(new Rng(1).next()).not.toBe(new Rng(2).next());
    expect(() => new Rng(0).setState([1, 2, 3])).toThrow(/expected 4 state words/);
  });

  it('shuffle is a permutation, and normal() has mean ~0 and variance ~1', () => {
    const r = new Rng(9);
    const a = r.shuffle(Array.from({ length: 50 }, (_, i) => i));
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    let s = 0, s2 = 0;
    const n = 20000;
    for (let i = 0; i < n; i++) { const v = r.normal(); s += v; s2 += v * v; }
    expect(Math.abs(s / n)).toBeLessThan(0.05);
    expect(Math.abs(s2 / n - 1)).toBeLessThan(0.05);
  });
});
