/**
 * Conformance ops of the attention modules (issue 5): pla (eq. 3), hla (§3.1, BoTNet MHSA),
 * dla (eqs. 4-6), each through the autograd tape in float64, calling the same functions the
 * modules' forward passes call.
 */
import { registerOp } from '../registry.ts';
import { runDifferentiable } from '../autograd-case.ts';
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
