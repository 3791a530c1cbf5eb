/** Adam (coupled weight decay) and StepLR against PyTorch's own (spec/fixtures/adam-reference.json). */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { Tensor } from '../core/tensor.ts';
import { Adam, StepLR } from '../nn/optim.ts';

const ref = JSON.parse(readFileSync(new URL('./fixtures/adam-reference.json', import.meta.url), 'utf8'));

describe('Adam + StepLR', () => {
  it('match torch.optim.Adam(weight_decay) and StepLR step by step, including a step without a gradient', () => {
    const params = ref.shapes.map((s: number[], i: number) => {
      const t = Tensor.from(ref.init[i], s, 'float64');
      t.requiresGrad = true;
      return t;
    });
    const opt = new Adam(params, { lr: ref.lr, weightDecay: ref.weight_decay });
    const sched = new StepLR(opt, ref.lr, ref.step_size, ref.gamma);
    ref.grads.forEach((grads: (number[] | null)[], step: number) => {
      // the fixture steps the scheduler every 2 optimizer steps ("epochs" of 2 steps)
      expect(sched.setEpoch(Math.floor(step / 2))).toBeCloseTo(ref.lr_used[step], 15);
      params.forEach((p: Tensor, i: number) => { p.grad = grads[i] ? Float64Array.from(grads[i]!) : null; });
      opt.update();
      params.forEach((p: Tensor, i: number) => {
        const want = ref.params_after[step][i] as number[];
        const err = Math.max(...want.map((w, j) => Math.abs(w - p.data[j])));
        expect(err, `param ${i} after step ${step + 1}`).toBeLessThan(1e-12);
      });
    });
  });
});
