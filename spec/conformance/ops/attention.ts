/**
 * Conformance ops of the attention modules (issue 5): pla (eq. 3), hla (§3.1, BoTNet MHSA),
 * dla (eqs. 4-6) and the hidden set's resnet50_features; the first three through the autograd tape, calling the same functions the
 * modules' forward passes call.
 */
import { registerOp } from '../registry.ts';
import { caseDtype, runDifferentiable, tensorOf } from '../autograd-case.ts';
import * as F from '../../../core/ops/index.ts';
import type { Tensor } from '../../../core/tensor.ts';
import { noGrad } from '../../../core/autograd.ts';
import { defaultInit, type StateValue } from '../../../nn/module.ts';
import { ReIDBackbone, RESNET50, backboneOptions } from '../../../nn/backbone.ts';
import { pla } from '../../../nn/attention/pla.ts';
import { hla } from '../../../nn/attention/hla.ts';
import { dla } from '../../../nn/attention/dla.ts';

registerOp('pla', { run: (args) => runDifferentiable(args, 'y', (t) => pla(t.x, t.w, t.b ?? null)) });

registerOp('hla', {
  run: (args) => runDifferentiable(args, 'y', (t) =>
    hla(t.x, { wq: t.wq, bq: t.bq, wk: t.wk, bk: t.bk, wv: t.wv, bv: t.bv, relH: t.rel_h, relW: t.rel_w },
      args.attrs.heads, args.attrs.scale)),
});

registerOp('dla', {
  run: (args) => runDifferentiable(args, 'y', (t) => dla(t.x, t.wq, t.bq ?? null, t.wk, t.wv, args.attrs.eps ?? 1e-9)),
});

/**
 * resnet50_features (hidden set): torchvision ResNet-50 trunk in eval mode, last stride 1, then
 * global average pooling. The architecture is read off the state dict (stem width from
 * conv1.weight, blocks per stage from the layer<i>.<b> keys), so narrow variants with the same
 * layout run too. Arithmetic in the case precision (autograd-case.ts) on the case's (float32) values.
 */
registerOp('resnet50_features', {
  run(args) {
    const { x, ...weights } = args.inputs;
    const depths = [1, 2, 3, 4].map((i) => Object.keys(weights).filter((k) => new RegExp(`^layer${i}\\.\\d+\\.conv1\\.weight$`).test(k)).length);
    if (!weights['conv1.weight'] || depths.some((d) => d === 0)) throw new Error('resnet50_features: the inputs are not a torchvision ResNet state dict (conv1.weight, layer1-4)');
    const opts = backboneOptions(RESNET50, {
      depths: depths as [number, number, number, number],
      baseWidth: weights['conv1.weight'].shape[0],
      lastStride: (args.attrs.last_stride ?? 1) as 1 | 2,
      inputSize: [x.shape[2], x.shape[3]],
    });
    const model = new ReIDBackbone(opts, defaultInit(0, caseDtype()));
    model.train(args.attrs.training ?? false);
    const report = model.loadStateDict(new Map<string, StateValue>(Object.entries(weights)), false);
    const missing = report.missing.filter((k) => !k.endsWith('num_batches_tracked') && !k.startsWith('feat_bn.'));
    if (missing.length || report.unexpected.length) {
      throw new Error(`resnet50_features: state dict does not match the ResNet layout (missing ${missing.slice(0, 5)}, unexpected ${report.unexpected.slice(0, 5)})`);
    }
    const y = noGrad(() => F.globalAvgPool(model.trunk(tensorOf(x) as Tensor<any>)));
    return { outputs: { y: Float64Array.from(y.data) } };
  },
});
