/**
 * nn/ layers: float64 finite-difference gradient checks through the Modules (Conv2d, BatchNorm
 * train/eval, Linear, GeM incl. its trainable p, Bottleneck with and without downsample),
 * torchvision state-dict names and order, and loadStateDict's reports and errors.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Tensor } from '../core/tensor.ts';
import { Rng } from '../core/random.ts';
import { backward, noGrad } from '../core/autograd.ts';
import * as F from '../core/ops/index.ts';
import { BatchNorm, Conv2d, GeM, Linear } from '../nn/layers.ts';
import { Bottleneck } from '../nn/bottleneck.ts';
import { defaultInit, type Module, type StateValue } from '../nn/module.ts';
import { gradcheck, randomTensor } from './gradcheck.ts';

const seedArb = fc.integer({ min: 0, max: 1e6 });

/** Gradient check of a module's forward w.r.t. its input and every parameter, named by state-dict key. */
function checkModule(m: Module & { forward(x: Tensor<any>): Tensor<any> }, x: Tensor): void {
  const params = m.namedParameters();
  const r = gradcheck((input) => m.forward(input), [x, ...params.map(([, p]) => p)], { names: ['x', ...params.map(([n]) => n)], maxPerInput: 25 });
  expect(r.worst).toBeLessThanOrEqual(1e-6);
  // and the parameters stay trainable for the next step
  for (const [, p] of params) expect(p.requiresGrad).toBe(true);
}

describe('layer gradients match central differences', () => {
  it('Conv2d (random kernel, stride, padding, bias or not)', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 2 }),
      fc.integer({ min: 0, max: 1 }), fc.boolean(), seedArb, (C, O, k, stride, padding, bias, seed) => {
        const conv = new Conv2d(C, O, k, defaultInit(seed, 'float64'), { stride, padding, bias });
        checkModule(conv, randomTensor([2, C, 5, 4], new Rng(seed)));
      }), { numRuns: 10 });
  });

  it('BatchNorm1d/2d in training and eval mode', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 4 }), fc.constantFrom<number[]>([], [3, 2]), fc.boolean(), seedArb, (C, spatial, training, seed) => {
      const rng = new Rng(seed);
      const bn = new BatchNorm(C, defaultInit(seed, 'float64'));
      // non-trivial affine parameters and running statistics
      bn.weight.data.set(randomTensor([C], rng).data);
      bn.bias.data.set(randomTensor([C], rng).data);
      bn.runningMean.data.set(randomTensor([C], rng).data);
      bn.runningVar.data.set(randomTensor([C], rng, [0.5, 2]).data);
      bn.train(training);
      checkModule(bn, randomTensor([3, C, ...spatial], rng));
    }), { numRuns: 10 });
  });

  it('BatchNorm counts batches in training only and moves running stats only in training', () => {
    const bn = new BatchNorm(2, defaultInit(0, 'float64'));
    const x = randomTensor([4, 2], new Rng(1));
    bn.forward(x);
    expect(bn.numBatchesTracked.data[0]).toBe(1);
    const rm = Array.from(bn.runningMean.data);
    bn.eval();
    bn.forward(x);
    expect(bn.numBatchesTracked.data[0]).toBe(1);
    expect(Array.from(bn.runningMean.data)).toEqual(rm);
  });

  it('Linear, GeM (x and p)', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 5 }), fc.boolean(), seedArb, (I, O, bias, seed) => {
      const rng = new Rng(seed);
      checkModule(new Linear(I, O, defaultInit(seed, 'float64'), bias), randomTensor([3, I], rng));
      const gem = new GeM(defaultInit(seed, 'float64'), rng.uniform(1.5, 4));
      checkModule(gem, randomTensor([2, 3, 3, 2], rng, [0.1, 2]));
    }), { numRuns: 10 });
  });

  it('Bottleneck with downsample (stride 2) and without (identity shortcut), train and eval', () => {
    for (const [inplanes, planes, stride, training] of [[4, 2, 2, true], [8, 2, 1, true], [4, 2, 2, false], [8, 2, 1, false]] as const) {
      const rng = new Rng(inplanes * 10 + stride);
      const block = new Bottleneck(inplanes, planes, stride, defaultInit(stride, 'float64'));
      // eval mode with non-trivial running statistics (fresh ones are 0 and 1)
      for (const [name, t] of block.stateDict()) {
        if (name.endsWith('running_mean')) t.data.set(randomTensor([t.size], rng, [-0.2, 0.2]).data);
        if (name.endsWith('running_var')) t.data.set(randomTensor([t.size], rng, [0.5, 1.5]).data);
      }
      block.train(training);
      expect(block.downsample !== null).toBe(stride !== 1 || inplanes !== planes * 4);
      checkModule(block, randomTensor([2, inplanes, 5, 4], rng));
    }
  });
});

describe('state dicts follow torchvision', () => {
  it('Bottleneck names and order equal torchvision Bottleneck.state_dict()', () => {
    const bnKeys = (p: string) => ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked'].map((k) => `${p}.${k}`);
    const want = ['conv1.weight', ...bnKeys('bn1'), 'conv2.weight', ...bnKeys('bn2'), 'conv3.weight', ...bnKeys('bn3'), 'downsample.0.weight', ...bnKeys('downsample.1')];
    const block = new Bottleneck(64, 64, 1, defaultInit(0));
    const sd = block.stateDict();
    expect([...sd.keys()]).toEqual(want);
    expect(sd.get('downsample.1.running_var')!.shape).toEqual([256]);
    expect(sd.get('conv2.weight')!.shape).toEqual([64, 64, 3, 3]);
    expect(sd.get('bn1.num_batches_tracked')!.shape).toEqual([]);
    // parameters are the state dict minus the buffers
    expect(block.namedParameters().map(([n]) => n)).toEqual(want.filter((k) => !/running_|num_batches/.test(k)));
    expect([...new Bottleneck(256, 64, 1, defaultInit(0)).stateDict().keys()].some((k) => k.startsWith('downsample'))).toBe(false);
  });

  it('loadStateDict round-trips, reports missing and unexpected keys, rejects a shape mismatch naming the key', () => {
    const a = new Bottleneck(8, 2, 2, defaultInit(1, 'float64'));
    const b = new Bottleneck(8, 2, 2, defaultInit(2, 'float64'));
    const x = randomTensor([1, 8, 4, 4], new Rng(3));
    a.eval(); b.eval();
    const values = new Map<string, StateValue>([...a.stateDict()].map(([k, t]) => [k, { data: t.data.slice(), shape: t.shape }]));
    expect(b.loadStateDict(values)).toEqual({ missing: [], unexpected: [] });
    expect(Array.from(noGrad(() => b.forward(x)).data)).toEqual(Array.from(noGrad(() => a.forward(x)).data));

    const partial = new Map(values);
    partial.delete('bn3.bias');
    partial.set('fc.weight', { data: [1], shape: [1] });
    expect(() => b.loadStateDict(partial)).toThrow(/1 missing keys \(bn3\.bias\), 1 unexpected keys \(fc\.weight\)/);
    expect(b.loadStateDict(partial, false)).toEqual({ missing: ['bn3.bias'], unexpected: ['fc.weight'] });

    const bad = new Map(values);
    bad.set('conv2.weight', { data: new Float64Array(2 * 2 * 3 * 1), shape: [2, 2, 3, 1] });
    expect(() => b.loadStateDict(bad, false)).toThrow(/'conv2\.weight' has shape \[2,2,3,1\] in the source, the model expects \[2,2,3,3\]/);
    // a rejected load changes nothing (strict failure or shape failure)
    const c = new Bottleneck(8, 2, 2, defaultInit(7, 'float64'));
    const before = [...c.stateDict()].map(([, t]) => Array.from(t.data));
    expect(() => c.loadStateDict(bad, false)).toThrow();
    expect(() => c.loadStateDict(partial)).toThrow();
    expect([...c.stateDict()].map(([, t]) => Array.from(t.data))).toEqual(before);
  });

  it('zeroGrad clears every parameter gradient', () => {
    const lin = new Linear(3, 2, defaultInit(0, 'float64'));
    backward(F.mean(lin.forward(Tensor.full([2, 3], 1, 'float64'))));
    for (const p of lin.parameters()) expect(p.grad).not.toBeNull();
    lin.zeroGrad();
    for (const p of lin.parameters()) expect(p.grad).toBeNull();
  });
});
