/**
 * torchvision's ResNet v1.5 Bottleneck (stride on the 3×3 conv):
 *   out = relu(bn3(conv3(relu(bn2(conv2(relu(bn1(conv1(x)))))))) + shortcut(x))
 *   shortcut = downsample(x) = bn(conv1×1(x, stride)) when the shape changes, else x.
 * `conv2` is the 3×3 stage; nn/backbone.ts replaces it by the MLA stack where the paper places it:
 * `middle` returns the ordered, named stages that run between relu(bn1(...)) and bn2 (e.g.
 * [['pla', PLA], ['hla', HLA], ['dla', DLA]] or [['pla', PLA], ['conv2', Conv2d], ['dla', DLA]]),
 * each registered under its own name so a kept 3×3 conv still loads as `conv2.weight`.
 */
import { Tensor } from '../core/tensor.ts';
import * as F from '../core/ops/index.ts';
import { Module, type InitContext } from './module.ts';
import { BatchNorm, Conv2d } from './layers.ts';
import { tap } from './feature-taps.ts';

export const EXPANSION = 4;

/** The middle (3×3) stage of a bottleneck: any module mapping [N, width, H, W] to [N, width, H/s, W/s]. */
export interface MiddleStage extends Module {
  forward(x: Tensor<['N', 'C', 'H', 'W']>): Tensor<['N', 'C', 'H', 'W']>;
}

export class Downsample extends Module {
  readonly conv: Conv2d;
  readonly bn: BatchNorm;

  constructor(inC: number, outC: number, stride: number, ctx: InitContext) {
    super();
    // torchvision names: downsample.0 (conv), downsample.1 (bn)
    this.conv = this.child('0', new Conv2d(inC, outC, 1, ctx, { stride, bias: false }));
    this.bn = this.child('1', new BatchNorm(outC, ctx));
  }

  forward(x: Tensor<['N', 'C', 'H', 'W']>): Tensor<['N', 'C', 'H', 'W']> {
    return this.bn.forward(this.conv.forward(x));
  }
}

export class Bottleneck extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm;
  /** The stages between bn1 and bn2, in order: [['conv2', Conv2d 3×3]] unless `middle` says otherwise. */
  readonly middle: [string, MiddleStage][];
  readonly bn2: BatchNorm;
  readonly conv3: Conv2d;
  readonly bn3: BatchNorm;
  readonly downsample: Downsample | null;

  /**
   * inplanes -> width (1×1) -> width (3×3, stride) -> planes·4 (1×1); width = planes by default
   * (torchvision's base_width 64, groups 1). `middle(width, stride)` replaces the 3×3 conv by its
   * named stages (they must apply the stride); they are created in order, after conv1/bn1.
   */
  constructor(inplanes: number, planes: number, stride: number, ctx: InitContext,
    middle?: (width: number, stride: number) => [string, MiddleStage][], width = planes) {
    super();
    const outC = planes * EXPANSION;
    this.conv1 = this.child('conv1', new Conv2d(inplanes, width, 1, ctx, { bias: false }));
    this.bn1 = this.child('bn1', new BatchNorm(width, ctx));
    const stages: [string, MiddleStage][] = middle ? middle(width, stride)
      : [['conv2', new Conv2d(width, width, 3, ctx, { stride, padding: 1, bias: false })]];
    this.middle = stages.map(([name, stage]) => [name, this.child(name, stage)]);
    this.bn2 = this.child('bn2', new BatchNorm(width, ctx));
    this.conv3 = this.child('conv3', new Conv2d(width, outC, 1, ctx, { bias: false }));
    this.bn3 = this.child('bn3', new BatchNorm(outC, ctx));
    this.downsample = stride !== 1 || inplanes !== outC ? this.child('downsample', new Downsample(inplanes, outC, stride, ctx)) : null;
  }

  forward(x: Tensor<['N', 'C', 'H', 'W']>): Tensor<['N', 'C', 'H', 'W']> {
    let out = F.relu(this.bn1.forward(this.conv1.forward(x)));
    for (const [, stage] of this.middle) out = tap(stage, stage.forward(out));
    out = F.relu(this.bn2.forward(out));
    out = this.bn3.forward(this.conv3.forward(out));
    const shortcut = this.downsample ? this.downsample.forward(x) : x;
    return tap(this, F.relu(F.add(out, shortcut)));
  }
}
