/**
 * Float64 finite-difference gradient check, shared by every spec that tests a differentiable piece.
 *
 *   gradcheck(f, inputs, opts)
 *     f       (...inputs) => Tensor: any composition of autograd primitives (it may also read
 *             tensors it closes over, e.g. a module's parameters passed in `inputs`)
 *     inputs  float64 Tensors whose gradients are checked (their requiresGrad is switched on)
 *
 * With a random upstream u (same shape as f's output) the checked quantity is L = Σ f(inputs)·u:
 * autograd's vector-Jacobian product (backward seeded with u) must equal, element by element,
 * the central difference (L(x + h e_i) − L(x − h e_i)) / 2h. Large inputs are checked on a random
 * subset of elements (`maxPerInput`). Returns the worst error; throws naming the input and element
 * when it exceeds `tol`. The error is |analytic − numeric| / max(|numeric|, 1).
 */
import { Tensor, type Axes } from '../core/tensor.ts';
import { backward, noGrad, tapeLength, clearTape } from '../core/autograd.ts';
import { Rng } from '../core/random.ts';

export interface GradcheckOptions {
  /** Step of the central difference. */
  h?: number;
  /** Largest accepted error. */
  tol?: number;
  /** Check at most this many elements of each input (chosen at random). */
  maxPerInput?: number;
  /** Seed of the upstream and of the element choice. */
  seed?: number;
  /** Names of the inputs, for error messages. */
  names?: string[];
}

export interface GradcheckResult {
  worst: number;
  checked: number;
}

function weightedSum(out: Tensor, u: Float64Array): number {
  let s = 0;
  for (let i = 0; i < u.length; i++) s += out.data[i] * u[i];
  return s;
}

export function gradcheck(f: (...xs: Tensor[]) => Tensor, inputs: Tensor[], opts: GradcheckOptions = {}): GradcheckResult {
  const { h = 1e-6, tol = 1e-6, maxPerInput = 40, seed = 1 } = opts;
  const names = opts.names ?? inputs.map((t, i) => t.name ?? `input ${i}`);
  for (const t of inputs) {
    if (t.dtype !== 'float64') throw new Error(`gradcheck: ${t} must be float64`);
    t.requiresGrad = true;
    t.grad = null;
  }
  const rng = new Rng(seed);
  clearTape();
  const out = f(...inputs);
  const u = Float64Array.from({ length: out.size }, () => rng.normal());
  backward(out, u);
  if (tapeLength() !== 0) throw new Error('gradcheck: the tape was not released by backward');
  const analytic = inputs.map((t) => Float64Array.from(t.grad ?? new Float64Array(t.size)));
  const loss = () => noGrad(() => weightedSum(f(...inputs), u));
  let worst = 0;
  let checked = 0;
  inputs.forEach((t, k) => {
    const all = Array.from({ length: t.size }, (_, i) => i);
    const picks = t.size <= maxPerInput ? all : rng.shuffle(all).slice(0, maxPerInput);
    for (const i of picks) {
      const v = t.data[i];
      t.data[i] = v + h;
      const lp = loss();
      t.data[i] = v - h;
      const lm = loss();
      t.data[i] = v;
      const numeric = (lp - lm) / (2 * h);
      const err = Math.abs(analytic[k][i] - numeric) / Math.max(Math.abs(numeric), 1);
      checked++;
      if (err > worst) worst = err;
      if (!(err <= tol)) {
        throw new Error(`gradcheck: d/d ${names[k]}[${i}] (shape [${t.shape}]): autograd ${analytic[k][i]}, central difference ${numeric} (error ${err.toExponential(2)} > ${tol})`);
      }
    }
  });
  for (const t of inputs) t.grad = null;
  return { worst, checked };
}

/** A float64 tensor of standard normal values (or uniform in [lo, hi) when given); axis names are the caller's. */
export function randomTensor<A extends Axes = any>(shape: readonly number[], rng: Rng, range?: [number, number]): Tensor<A> {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = Float64Array.from({ length: n }, () => (range ? rng.uniform(range[0], range[1]) : rng.normal()));
  return new Tensor<A>(data, shape);
}
