/**
 * nn/weights.ts against files written by PyTorch 1.13's own torch.save (spec/fixtures/resnet50-small-weights.py):
 * the zip format, the legacy format and safetensors give the same tensors, odd dtypes and strided
 * views come out right, and loadPretrained reports missing/unexpected keys by name.
 */
import { describe, expect, it } from 'vitest';
import { readStateDict, loadPretrained, formatReport } from '../nn/weights.ts';
import { ReIDBackbone, RESNET50, backboneOptions } from '../nn/backbone.ts';
import { defaultInit } from '../nn/module.ts';

const dir = 'spec/fixtures';
const truth = readStateDict(`${dir}/resnet50-small-weights.safetensors`, { dtype: 'float64' });

function expectSame(got: Map<string, { data: ArrayLike<number>; shape: number[] }>, want: typeof truth) {
  for (const [k, w] of want) {
    const g = got.get(k);
    expect(g, k).toBeDefined();
    expect(g!.shape, k).toEqual(w.shape);
    expect(Array.from(g!.data), k).toEqual(Array.from(w.data));
  }
}

describe('weights: torch.save formats', () => {
  it('the zip .pth holds the same tensors as the safetensors file', () => {
    const pth = readStateDict(`${dir}/resnet50-small-weights.pth`, { dtype: 'float64' });
    expectSame(pth, truth);
    expect(pth.get('layer1.0.bn1.num_batches_tracked')!.data[0]).toBe(7);
    expect(pth.has('fc.weight')).toBe(true);
  });

  it('the legacy (pre-zip) .pth holds the same tensors', () => {
    const legacy = readStateDict(`${dir}/resnet50-small-weights-legacy.pth`, { dtype: 'float64' });
    expectSame(legacy, truth);
    expect([...legacy.keys()]).toEqual([...readStateDict(`${dir}/resnet50-small-weights.pth`).keys()]);
  });

  it('float16, float64, int64, transposed and offset views, Parameters, nested state_dict', () => {
    const got = readStateDict(`${dir}/resnet50-small-weights-extra.pth`, { dtype: 'float64' });
    const want = readStateDict(`${dir}/resnet50-small-weights-extra.safetensors`, { dtype: 'float64' });
    expectSame(got, want);
    expect(Array.from(got.get('long')!.data)).toEqual([-4, -1, 2, 5, 8]);
    expect(got.get('half')!.sourceDtype).toBe('float16');
  });

  it('a file that is not a weights file is refused with its name', () => {
    expect(() => readStateDict('package.json')).toThrow(/package\.json/);
    expect(() => readStateDict(`${dir}/no-such-file.pth`)).toThrow(/no-such-file/);
  });
});

describe('weights: loadPretrained', () => {
  const opts = backboneOptions(RESNET50, { depths: [1, 1, 1, 1], baseWidth: 2, inputSize: [64, 32] });

  it('fills every trunk tensor and reports the neck as missing, fc as unexpected', () => {
    const model = new ReIDBackbone(opts, defaultInit(3));
    const r = loadPretrained(model, `${dir}/resnet50-small-weights.pth`);
    expect(r.unexpected.sort()).toEqual(['fc.bias', 'fc.weight']);
    expect(r.missing.every((k) => k.startsWith('feat_bn.'))).toBe(true);
    const sd = model.stateDict();
    for (const [k, w] of truth) {
      if (k.startsWith('fc.')) continue;
      const got = sd.get(k)!;
      for (let i = 0; i < w.data.length; i++) expect(got.data[i]).toBeCloseTo(w.data[i], 6);
    }
    expect(formatReport(r)).toMatch(/unexpected \(ignored\): fc \(2\)/);
  });

  it('MLA parameters keep their initialisation; a conv replaced by HLA is unexpected', () => {
    const mlaOpts = backboneOptions(opts, { mla: { pla: true, hla: true, dla: true, ck: 4 } });
    const model = new ReIDBackbone(mlaOpts, defaultInit(3));
    const before = new Map([...model.stateDict()].filter(([k]) => /\.(pla|hla|dla)\./.test(k)).map(([k, t]) => [k, t.data.slice()]));
    const r = loadPretrained(model, `${dir}/resnet50-small-weights.pth`);
    expect(r.unexpected).toContain('layer4.0.conv2.weight');
    for (const [k, v] of before) {
      expect(r.missing).toContain(k);
      expect(Array.from(model.stateDict().get(k)!.data)).toEqual(Array.from(v));
    }
  });

  it('a width mismatch is an error naming the key', () => {
    const model = new ReIDBackbone(backboneOptions(opts, { baseWidth: 4 }), defaultInit(3));
    expect(() => loadPretrained(model, `${dir}/resnet50-small-weights.pth`)).toThrow(/conv1\.weight.*\[2,3,7,7\]/);
  });
});
