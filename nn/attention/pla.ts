/**
 * Pixel-level attention (PLA), paper section 3.2, Figure 3.
 *
 *   (3)  PLA(x) = x · σ( Conv_padding^{3×3}(x) )
 *
 * A 3×3 convolution with zero padding 1 turns every pixel's neighbourhood into a weight, the
 * sigmoid squashes it into (0, 1), and the weight multiplies the pixel (rather than being added to
 * it, as ViT's position encoding of eq. (2) is). DESIGN.md: the conv is C→C with bias by default
 * (a weight per pixel *and* channel); `channels: '1'` gives C→1 (one weight per pixel, broadcast
 * over the channels).
 *
 * | symbol                     | name here                              |
 * |----------------------------|----------------------------------------|
 * | x                          | `x`, the feature map entering PLA      |
 * | Conv_padding^{3×3}         | `conv` (weight [C or 1, C, 3, 3], bias) |
 * | σ                          | `F.sigmoid`                            |
 * | ·                          | elementwise product `F.mul`            |
 *
 * Shapes: x [N, C, H, W] → weights [N, C, H, W] (or [N, 1, H, W]) → y [N, C, H, W].
 * Init: PyTorch's Conv2d default (kaiming-uniform a=√5 weight, uniform ±1/√fan_in bias).
 */
import { Tensor, expectShape } from '../../core/tensor.ts';
import * as F from '../../core/ops/index.ts';
import { Module, type InitContext } from '../module.ts';
import { Conv2d } from '../layers.ts';

export interface PLAOptions {
  /** 'C': a weight per pixel and channel (default); '1': one weight per pixel. */
  channels?: 'C' | '1';
}

export class PLA extends Module {
  readonly conv: Conv2d;

  constructor(readonly C: number, ctx: InitContext, opts: PLAOptions = {}) {
    super();
    const out = (opts.channels ?? 'C') === 'C' ? C : 1;
    this.conv = this.child('conv', new Conv2d(C, out, 3, ctx, { padding: 1, bias: true }));
  }

  forward(x: Tensor<['N', 'C', 'H', 'W']>): Tensor<['N', 'C', 'H', 'W']> {
    expectShape(x, [null, this.C, null, null], 'PLA (eq. 3)');
    return pla(x, this.conv.weight, this.conv.bias);
  }
}

/** Eq. (3) as a function of its weights: w [C or 1, C, 3, 3], b [C or 1]. */
export function pla(x: Tensor<any>, w: Tensor, b: Tensor | null): Tensor<['N', 'C', 'H', 'W']> {
  // (3) σ(Conv_padding^{3×3}(x)): the pixel-wise weights in (0, 1)
  const weights = F.sigmoid(F.conv2d(x, w, b, { stride: [1, 1], padding: [1, 1] }, 'PLA conv (eq. 3)'));
  // (3) PLA(x) = x · weights  (broadcast over channels when the conv is C→1)
  return F.mul(x, weights);
}
