/**
 * PyTorch's initialisers, drawn from the project's seeded generator.
 *  - kaimingUniform(a = √5): the default of nn.Conv2d / nn.Linear weights, bound = 1/√fan_in.
 *  - biasUniform: the default of their biases, U(−1/√fan_in, 1/√fan_in).
 *  - kaimingNormal(fan_out, relu): torchvision ResNet's conv init, std = √(2/fan_out).
 */
import { Tensor } from '../core/tensor.ts';
import type { Rng } from '../core/random.ts';

/** fan_in and fan_out of a [O, I, kh, kw] (or [O, I]) weight. */
export function fans(shape: readonly number[]): [number, number] {
  const receptive = shape.slice(2).reduce((a, b) => a * b, 1);
  return [shape[1] * receptive, shape[0] * receptive];
}

export function uniform_(t: Tensor, rng: Rng, bound: number): Tensor {
  for (let i = 0; i < t.size; i++) t.data[i] = rng.uniform(-bound, bound);
  return t;
}

export function normal_(t: Tensor, rng: Rng, std = 1): Tensor {
  for (let i = 0; i < t.size; i++) t.data[i] = std * rng.normal();
  return t;
}

export function kaimingUniform_(t: Tensor, rng: Rng, a = Math.sqrt(5)): Tensor {
  const [fanIn] = fans(t.shape);
  const gain = Math.sqrt(2 / (1 + a * a));
  return uniform_(t, rng, gain * Math.sqrt(3 / fanIn));
}

export function kaimingNormalFanOut_(t: Tensor, rng: Rng): Tensor {
  const [, fanOut] = fans(t.shape);
  return normal_(t, rng, Math.sqrt(2 / fanOut));
}

export function biasUniform_(bias: Tensor, weightShape: readonly number[], rng: Rng): Tensor {
  const [fanIn] = fans(weightShape);
  return uniform_(bias, rng, fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0);
}
