/**
 * Shared glue for differentiable conformance ops: case tensors become Tensors that require
 * gradients, the op runs forward on the tape, and backward is seeded with the case's upstream g,
 * so the gradients compared are exactly d(sum(output * g))/d(input).
 *
 * Cases run in float64 (the reference backend's precision, `cpu`) or in float32 (`--backend wasm`:
 * the precision its kernels compute in; the contract's 1e-4 leaves room for float32 rounding).
 */
import { Tensor, alloc, type DType } from '../../core/tensor.ts';
import { backward } from '../../core/autograd.ts';
import type { Arr, OpArgs, OpResult } from './registry.ts';

let dtype: DType = 'float64';

/** The precision the cases' tensors and modules are made in. */
export function caseDtype(): DType {
  return dtype;
}

export function setCaseDtype(d: DType): void {
  dtype = d;
}

export function tensorOf(a: Arr, requiresGrad = false): Tensor {
  const data = alloc(dtype, a.data.length);
  data.set(a.data);
  const t = new Tensor(data, a.shape);
  t.requiresGrad = requiresGrad;
  return t;
}

/**
 * Run `forward` on the case inputs (as Tensors keyed by input name) and back-propagate the
 * upstream of its single differentiable output `outName`.
 */
export function runDifferentiable(args: OpArgs, outName: string,
  forward: (t: Record<string, Tensor>) => Tensor | Record<string, Tensor | Float64Array>): OpResult {
  const t: Record<string, Tensor> = {};
  for (const [name, a] of Object.entries(args.inputs)) t[name] = tensorOf(a, args.gradsWanted.includes(name));
  const result = forward(t);
  const outs: Record<string, Tensor | Float64Array> = result instanceof Tensor ? { [outName]: result } : result;
  const y = outs[outName] as Tensor;
  const up = args.upstream[outName];
  if (up && args.gradsWanted.length) backward(y, up.data);
  const outputs: OpResult['outputs'] = {};
  for (const [k, v] of Object.entries(outs)) outputs[k] = v instanceof Tensor ? Float64Array.from(v.data) : v;
  const grads: Record<string, Float64Array> = {};
  for (const name of args.gradsWanted) grads[name] = Float64Array.from(t[name].grad ?? new Float64Array(t[name].size));
  return { outputs, grads };
}
