/** Conformance ops of the reference layers (issue 2): every op runs through the autograd tape (spec/conformance/autograd-case.ts). */
import * as F from '../../../core/ops/index.ts';
import { Bottleneck } from '../../../nn/bottleneck.ts';
import { defaultInit, type StateValue } from '../../../nn/module.ts';
import { registerOp } from '../registry.ts';
import { caseDtype, runDifferentiable, tensorOf } from '../autograd-case.ts';
import { backward } from '../../../core/autograd.ts';
import type { Tensor } from '../../../core/tensor.ts';

registerOp('conv2d', {
  run: (args) => runDifferentiable(args, 'y', (t) =>
    F.conv2d(t.x, t.w, t.b ?? null, { stride: args.attrs.stride, padding: args.attrs.padding })),
});

for (const op of ['batchnorm2d', 'batchnorm1d']) {
  registerOp(op, {
    run: (args) => runDifferentiable(args, 'y', (t) => {
      // running stats are updated in place: work on copies and report them as outputs
      const rm = tensorOf(args.inputs.running_mean);
      const rv = tensorOf(args.inputs.running_var);
      const y = F.batchNorm(t.x, t.gamma, t.beta, rm, rv,
        { training: args.attrs.training, momentum: args.attrs.momentum, eps: args.attrs.eps });
      return { y, new_running_mean: Float64Array.from(rm.data), new_running_var: Float64Array.from(rv.data) };
    }),
  });
}

registerOp('relu', { run: (args) => runDifferentiable(args, 'y', (t) => F.relu(t.x)) });

registerOp('maxpool2d', {
  run: (args) => runDifferentiable(args, 'y', (t) =>
    F.maxPool2d(t.x, { kernel: args.attrs.kernel, stride: args.attrs.stride, padding: args.attrs.padding })),
});

registerOp('global_avgpool', { run: (args) => runDifferentiable(args, 'y', (t) => F.globalAvgPool(t.x)) });

registerOp('gem_pool', {
  run: (args) => runDifferentiable(args, 'y', (t) => F.gem(t.x, tensorOf({ data: Float64Array.of(args.attrs.p), shape: [1] }), args.attrs.eps)),
});

registerOp('linear', { run: (args) => runDifferentiable(args, 'y', (t) => F.linear(t.x, t.w, t.b ?? null)) });

registerOp('l2_normalize', { run: (args) => runDifferentiable(args, 'y', (t) => F.l2Normalize(t.x, args.attrs.eps)) });

registerOp('bottleneck', {
  run(args) {
    const planes = args.inputs['conv1.weight'].shape[0];
    const block = new Bottleneck(args.inputs.x.shape[1], planes, args.attrs.stride, defaultInit(0, caseDtype()));
    block.train(args.attrs.training);
    const state = new Map<string, StateValue>(Object.entries(args.inputs).filter(([k]) => k !== 'x'));
    const report = block.loadStateDict(state, false);
    const notRunningStat = report.missing.filter((k) => !k.endsWith('num_batches_tracked'));
    if (notRunningStat.length || report.unexpected.length) {
      throw new Error(`bottleneck: state dict does not match (missing ${notRunningStat}, unexpected ${report.unexpected})`);
    }
    const x = tensorOf(args.inputs.x, true);
    const y = block.forward(x as Tensor<any>);
    backward(y, args.upstream.y.data);
    const weights = block.stateDict();
    const grads: Record<string, Float64Array> = {};
    for (const name of args.gradsWanted) {
      const g = name === 'x' ? x.grad : weights.get(name)?.grad;
      if (!g) throw new Error(`bottleneck: no gradient for '${name}'`);
      grads[name] = Float64Array.from(g);
    }
    return { outputs: { y: Float64Array.from(y.data) }, grads };
  },
});
