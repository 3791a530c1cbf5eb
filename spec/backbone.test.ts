/**
 * nn/backbone.ts: torchvision's ResNet-50 layout and names, the PyTorch reference forward
 * (spec/fixtures/resnet50-small.safetensors: a width-4 ResNet-50 computed by torchvision's own
 * Bottleneck, see resnet50-small.py) in float64 and float32, MLA placement for every ablation
 * row, the neck, the CPU preset's training step, and Grad-CAM.
 */
import { describe, expect, it } from 'vitest';
import { Tensor } from '../core/tensor.ts';
import { backward, noGrad } from '../core/autograd.ts';
import * as F from '../core/ops/index.ts';
import { Rng } from '../core/random.ts';
import { defaultInit, type StateValue } from '../nn/module.ts';
import { ReIDBackbone, RESNET50, RESNET_CPU, backboneOptions, mapSizes, trainableParameters } from '../nn/backbone.ts';
import { ABLATION_ROWS } from '../nn/attention/mla.ts';
import { gradCam, camFromActivation } from '../nn/gradcam.ts';
import { loadCase, runCase } from './conformance/runner.ts';

const FIXTURE = 'spec/fixtures/resnet50-small.safetensors';

function randomImages(n: number, [h, w]: [number, number], seed: number, dtype: 'float32' | 'float64' = 'float32'): Tensor<['N', 'C', 'H', 'W']> {
  const rng = new Rng(seed);
  const t = Tensor.zeros<['N', 'C', 'H', 'W']>([n, 3, h, w], dtype);
  for (let i = 0; i < t.size; i++) t.data[i] = rng.normal();
  return t;
}

describe('ResNet-50 against PyTorch (torchvision Bottleneck, eval, last stride 1)', () => {
  it('the resnet50_features conformance op passes the width-4 ResNet-50 case (float64)', async () => {
    const row = await runCase(FIXTURE);
    expect(row.reason).toBeUndefined();
    expect(row.passed).toBe(true);
    expect(row.errors.y).toBeLessThan(1e-10);
  });

  it('the float32 model (the training dtype) is within 1e-4 relative', () => {
    const { spec, tensors } = loadCase(FIXTURE);
    const x = tensors.get('x')!;
    const model = new ReIDBackbone(backboneOptions(RESNET50, { baseWidth: tensors.get('conv1.weight')!.shape[0], inputSize: [x.shape[2], x.shape[3]] }), defaultInit(0));
    model.eval();
    const weights = new Map<string, StateValue>(spec.inputs.filter((n) => n !== 'x').map((n) => [n, tensors.get(n)!]));
    const report = model.loadStateDict(weights, false);
    expect(report.unexpected).toEqual([]);
    expect(report.missing.filter((k) => !k.endsWith('num_batches_tracked') && !k.startsWith('feat_bn.'))).toEqual([]);
    const y = noGrad(() => model.features(Tensor.from(x.data, x.shape) as Tensor<any>)).pooled;
    const want = tensors.get('y')!.data;
    let d = 0, m = 0;
    for (let i = 0; i < want.length; i++) { d = Math.max(d, Math.abs(y.data[i] - want[i])); m = Math.max(m, Math.abs(want[i])); }
    expect(d / m).toBeLessThan(1e-4);
  });
});

describe('layout and names', () => {
  it("ResNet-50's state dict has torchvision's names, in torchvision's order", () => {
    const { spec } = loadCase(FIXTURE); // torchvision's keys (less fc, num_batches_tracked), from PyTorch
    const model = new ReIDBackbone(backboneOptions(RESNET50, { baseWidth: 4 }), defaultInit(0));
    const ours = [...model.stateDict().keys()].filter((k) => !k.endsWith('num_batches_tracked') && !k.startsWith('feat_bn.'));
    expect(ours).toEqual(spec.inputs.filter((n) => n !== 'x'));
    expect(model.featureDim).toBe(128);
  });

  it('last stride 1: layer4 is 16×8 at 256×128; the full model is 2048-d', () => {
    expect(mapSizes(RESNET50).stages[3]).toEqual([16, 8]);
    expect(mapSizes(backboneOptions(RESNET50, { lastStride: 2 })).stages[3]).toEqual([8, 4]);
    expect(mapSizes(RESNET_CPU).stages[3]).toEqual([8, 4]);
  });

  it('every ablation row is one option set; MLA replaces conv2 only where HLA is on', () => {
    const base = backboneOptions(RESNET50, { depths: [1, 1, 1, 3], baseWidth: 4, inputSize: [64, 32] });
    for (const [row, flags] of Object.entries(ABLATION_ROWS)) {
      for (const blocks of ['all', 'last'] as const) {
        const model = new ReIDBackbone(backboneOptions(base, { mla: { ...flags, blocks, ck: 4, heads: 2 } }), defaultInit(1));
        const keys = [...model.stateDict().keys()];
        for (let b = 0; b < 3; b++) {
          const on = blocks === 'all' || b === 2;
          const has = (s: string) => keys.some((k) => k.startsWith(`layer4.${b}.${s}.`));
          expect(has('pla'), `${row} ${blocks} layer4.${b}.pla`).toBe(on && flags.pla);
          expect(has('hla'), `${row} ${blocks} layer4.${b}.hla`).toBe(on && flags.hla);
          expect(has('dla'), `${row} ${blocks} layer4.${b}.dla`).toBe(on && flags.dla);
          expect(has('conv2'), `${row} ${blocks} layer4.${b}.conv2`).toBe(!(on && flags.hla));
        }
        expect(keys.some((k) => /^layer[123]\..*(pla|hla|dla)/.test(k))).toBe(false);
      }
    }
  });

  it('HLA with last stride 2 is refused with a clear message', () => {
    expect(() => new ReIDBackbone(backboneOptions(RESNET_CPU, { lastStride: 2, mla: { hla: true } }), defaultInit(1))).toThrow(/layer4\.0.*stride 2.*lastStride 1/);
  });

  it('the input size is checked', () => {
    const model = new ReIDBackbone(RESNET_CPU, defaultInit(1));
    expect(() => noGrad(() => model.forward(randomImages(1, [64, 32], 1)))).toThrow(/backbone.*\[1,3,64,32\].*\[\*,3,128,64\]/);
  });

  it('trunk convs: kaiming-normal fan_out (std √(2/fan_out)); BN 1/0', () => {
    const model = new ReIDBackbone(backboneOptions(RESNET50, { baseWidth: 32 }), defaultInit(2));
    const w = model.stateDict().get('layer3.0.conv2.weight')!; // [128, 128, 3, 3], fan_out 1152
    let s = 0;
    for (const v of w.data) s += v * v;
    expect(Math.sqrt(s / w.size)).toBeCloseTo(Math.sqrt(2 / 1152), 3);
    expect(model.stateDict().get('layer4.2.bn3.weight')!.data.every((v) => v === 1)).toBe(true);
    expect(model.stateDict().get('layer4.2.bn3.bias')!.data.every((v) => v === 0)).toBe(true);
    expect(model.featureDim).toBe(32 * 32); // 2048 at ResNet-50's width 64
  });
});

describe('neck, output and training on the CPU preset', () => {
  it('BN neck with a frozen shift; the embedding rows have unit norm', () => {
    const model = new ReIDBackbone(backboneOptions(RESNET_CPU, { baseWidth: 4 }), defaultInit(3));
    expect(model.featBn.bias.requiresGrad).toBe(false);
    expect(trainableParameters(model)).not.toContain(model.featBn.bias);
    const e = noGrad(() => model.forward(randomImages(3, [128, 64], 4)));
    expect(e.shape).toEqual([3, 128]);
    for (let r = 0; r < 3; r++) {
      let s = 0;
      for (let j = 0; j < 128; j++) s += e.data[r * 128 + j] ** 2;
      expect(Math.sqrt(s)).toBeCloseTo(1, 5);
    }
  });

  it('one training step with all of MLA: every trainable parameter gets a finite gradient, MLA ones non-zero', () => {
    const model = new ReIDBackbone(backboneOptions(RESNET_CPU, { baseWidth: 4, pooling: 'gem', mla: { pla: true, hla: true, dla: true, ck: 8 } }), defaultInit(5));
    model.train();
    const e = model.forward(randomImages(4, [128, 64], 6));
    const rng = new Rng(7);
    const target = Tensor.from(Array.from({ length: e.size }, () => rng.normal()), e.shape);
    backward(F.mean(F.mul(e, target)));
    for (const [name, p] of model.namedParameters()) {
      if (!p.requiresGrad) { expect(p.grad, name).toBeNull(); continue; }
      expect(p.grad, name).not.toBeNull();
      expect(p.grad!.every(Number.isFinite), name).toBe(true);
      if (/\.(pla|hla|dla)\./.test(name)) expect(p.grad!.some((v) => v !== 0), name).toBe(true);
    }
    model.zeroGrad();
  });
});

describe('Grad-CAM', () => {
  const opts = backboneOptions(RESNET_CPU, { baseWidth: 4, mla: { pla: true, hla: true, dla: true, ck: 8 } });

  it('camFromActivation: α_c = mean gradient, ReLU, min-max', () => {
    // C = 2, 1×3 map: α = [1, −1] → cam = A0 − A1 = [2, −1, 0] → ReLU [2, 0, 0] → [1, 0, 0]
    const A = [3, 0, 1, 1, 1, 1];
    const G = [1, 1, 1, -1, -1, -1];
    expect(Array.from(camFromActivation(A, G, 2, 1, 3))).toEqual([1, 0, 0]);
  });

  it('maps of each MLA module and of layer4 are h×w in [0, 1]; the self-similarity score is 1', () => {
    const model = new ReIDBackbone(opts, defaultInit(8));
    const img = randomImages(1, [128, 64], 9);
    for (const layer of ['layer4', 'layer4.0.pla', 'layer4.0.hla', 'layer4.0.dla', 'layer3']) {
      const r = gradCam(model, img, { layer });
      const [h, w] = layer === 'layer3' ? mapSizes(opts).stages[2] : [8, 4];
      expect([r.h, r.w]).toEqual([h, w]);
      expect(r.heat.length).toBe(h * w);
      expect(r.heat.every((v) => v >= 0 && v <= 1)).toBe(true);
      expect(Math.max(...r.heat)).toBe(1);
    }
    const self = noGrad(() => { model.eval(); return model.forward(img); });
    const r = gradCam(model, img, { layer: 'layer4.0.dla', target: self.data });
    expect(r.score).toBeCloseTo(1, 5);
    expect(model.parameters().every((p) => p.grad === null)).toBe(true);
  });

  it('an unknown layer is an error listing examples', () => {
    const model = new ReIDBackbone(opts, defaultInit(8));
    expect(() => gradCam(model, randomImages(1, [128, 64], 9), { layer: 'layer9' })).toThrow(/no module 'layer9'/);
  });
});
