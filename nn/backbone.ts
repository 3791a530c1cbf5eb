/**
 * The re-ID backbone: torchvision's ResNet-50 (v1.5) trunk with last stride 1, the paper's
 * multi-level attention in layer4 (nn/attention/mla.ts), global pooling, a BatchNorm1d neck and
 * an L2-normalised embedding (paper section 4.1: "ResNet-50 pre-trained on ImageNet as the
 * backbone"; neck and last stride as in the cluster-contrast code the paper builds on).
 *
 *   x [N, 3, H, W] → conv1 (7×7/2) → bn1 → ReLU → maxpool (3×3/2)
 *     → layer1 (stride 1) → layer2 (/2) → layer3 (/2) → layer4 (/lastStride; MLA here)   [N, 32w, h, w']
 *     → pool (avg, or GeM) [N, D] → feat_bn (BatchNorm1d, bias frozen) → L2 normalise → [N, D]
 *
 * D = 32 · baseWidth (2048 for ResNet-50). At 256×128 with last stride 1, layer4 is 16×8.
 * Parameter names are torchvision's (`conv1.weight`, `layer4.2.bn3.running_var`), so ImageNet
 * weights load by key (nn/weights.ts); the extra names are `feat_bn.*`, `pool.p` (GeM) and the
 * MLA stages `layer4.<i>.pla.*`, `.hla.*`, `.dla.*`.
 *
 * Init: torchvision's ResNet init for the trunk (kaiming-normal fan_out convs, BN γ = 1, β = 0),
 * PyTorch's defaults for the MLA modules, all drawn from the seeded generator in construction
 * order; the neck is γ = 1, β = 0 with β frozen (requiresGrad false).
 */
import { Tensor, expectShape } from '../core/tensor.ts';
import * as F from '../core/ops/index.ts';
import { convOutputSize } from '../core/ops/conv.ts';
import { Module, type InitContext } from './module.ts';
import { BatchNorm, Conv2d, GeM, MaxPool2d } from './layers.ts';
import { Bottleneck, EXPANSION } from './bottleneck.ts';
import { kaimingNormalFanOut_ } from './init.ts';
import { PLA } from './attention/pla.ts';
import { HLA } from './attention/hla.ts';
import { DLA } from './attention/dla.ts';
import { MLA_DEFAULTS, anyMLA, mlaStages, type MLAOptions } from './attention/mla.ts';
import { nameModules, tap } from './feature-taps.ts';

export interface BackboneOptions {
  /** Bottlenecks per stage (ResNet-50: [3, 4, 6, 3]). */
  depths: [number, number, number, number];
  /** Channels of the stem and of layer1's bottleneck width (ResNet-50: 64); stage i uses baseWidth·2^i. */
  baseWidth: number;
  /** Stride of layer4 (1 for re-ID, as cluster-contrast; torchvision: 2). */
  lastStride: 1 | 2;
  pooling: 'avg' | 'gem';
  /** Input image [height, width] (HLA's position encoding is sized from it). */
  inputSize: [number, number];
  /** Multi-level attention in layer4 (all off = the baseline). */
  mla: MLAOptions;
}

/** torchvision ResNet-50 with last stride 1 at the paper's 256×128 input. */
export const RESNET50: BackboneOptions = {
  depths: [3, 4, 6, 3], baseWidth: 64, lastStride: 1, pooling: 'avg', inputSize: [256, 128], mla: { ...MLA_DEFAULTS },
};

/**
 * CPU-sized variant: the same layout, names and MLA placement, one bottleneck per stage, a
 * quarter of the width (stem 16, D = 512), at 128×64 (layer4 is 8×4). A training step of batch 32
 * (fwd + bwd) took about 1.6-1.8 s on an otherwise idle core of this machine, 0.8-1.2 s for
 * RESNET_CPU_TINY (bench/resnet.ts measures both).
 */
export const RESNET_CPU: BackboneOptions = {
  depths: [1, 1, 1, 1], baseWidth: 16, lastStride: 1, pooling: 'avg', inputSize: [128, 64], mla: { ...MLA_DEFAULTS },
};

/** Half of RESNET_CPU's width (stem 8, D = 256): for quick runs and tests on a busy 2-core machine. */
export const RESNET_CPU_TINY: BackboneOptions = { ...RESNET_CPU, baseWidth: 8, mla: { ...MLA_DEFAULTS } };

export function backboneOptions(base: BackboneOptions, over: Partial<Omit<BackboneOptions, 'mla'>> & { mla?: Partial<MLAOptions> } = {}): BackboneOptions {
  return { ...base, ...over, mla: { ...base.mla, ...(over.mla ?? {}) } } as BackboneOptions;
}

/** A stage of bottlenecks, named '0', '1', ... as torch.nn.Sequential. */
export class ResLayer extends Module {
  readonly blocks: Bottleneck[] = [];

  add(block: Bottleneck): void {
    this.blocks.push(this.child(String(this.blocks.length), block));
  }

  forward(x: Tensor<['N', 'C', 'H', 'W']>): Tensor<['N', 'C', 'H', 'W']> {
    for (const b of this.blocks) x = b.forward(x);
    return tap(this, x);
  }
}

/** Feature-map [H, W] after the stem and after each stage, for an input size. */
export function mapSizes(opts: BackboneOptions): { stem: [number, number]; stages: [number, number][] } {
  const down = (s: [number, number], k: number, st: number, p: number): [number, number] =>
    [convOutputSize(s[0], k, st, p), convOutputSize(s[1], k, st, p)];
  let s = down(down(opts.inputSize, 7, 2, 3), 3, 2, 1);
  const stem = s;
  const stages: [number, number][] = [];
  for (let i = 0; i < 4; i++) {
    const stride = i === 0 ? 1 : i === 3 ? opts.lastStride : 2;
    s = down(s, 3, stride, 1);
    stages.push(s);
  }
  return { stem, stages };
}

export interface BackboneOutput {
  /** Pooled trunk feature [N, D] (what resnet50_features returns). */
  pooled: Tensor<['N', 'D']>;
  /** After the BatchNorm1d neck [N, D]. */
  neck: Tensor<['N', 'D']>;
  /** L2-normalised neck feature [N, D]: the re-ID embedding. */
  embedding: Tensor<['N', 'D']>;
}

export class ReIDBackbone extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm;
  readonly maxpool = new MaxPool2d(3, 2, 1);
  readonly layers: ResLayer[] = [];
  readonly pool: GeM | null;
  readonly featBn: BatchNorm;
  readonly featureDim: number;

  constructor(readonly opts: BackboneOptions, ctx: InitContext) {
    super();
    const w = opts.baseWidth;
    const sizes = mapSizes(opts);
    if (sizes.stages[3].some((d) => d < 1)) throw new Error(`backbone: input ${opts.inputSize.join('x')} is too small for the ResNet strides`);
    this.conv1 = this.child('conv1', new Conv2d(3, w, 7, ctx, { stride: 2, padding: 3, bias: false }));
    this.bn1 = this.child('bn1', new BatchNorm(w, ctx));
    let inplanes = w;
    for (let i = 0; i < 4; i++) {
      const planes = w * 2 ** i;
      const stride = i === 0 ? 1 : i === 3 ? opts.lastStride : 2;
      const layer = this.child(`layer${i + 1}`, new ResLayer());
      for (let b = 0; b < opts.depths[i]; b++) {
        const withMLA = i === 3 && anyMLA(opts.mla) && (opts.mla.blocks === 'all' || b === opts.depths[i] - 1);
        const where = `layer4.${b}`;
        const middle = withMLA ? (width: number, s: number) => mlaStages(opts.mla, width, s, sizes.stages[3], ctx, where) : undefined;
        layer.add(new Bottleneck(inplanes, planes, b === 0 ? stride : 1, ctx, middle));
        inplanes = planes * EXPANSION;
      }
      this.layers.push(layer);
    }
    this.featureDim = inplanes;
    this.pool = opts.pooling === 'gem' ? this.child('pool', new GeM(ctx)) : null;
    this.featBn = this.child('feat_bn', new BatchNorm(inplanes, ctx));
    // the neck's shift is frozen (cluster-contrast: feat_bn.bias.requires_grad_(False))
    this.featBn.bias.requiresGrad = false;
    this.initTrunk(ctx);
    nameModules(this);
  }

  /** torchvision's ResNet init: every trunk conv kaiming-normal (fan_out, relu); BN is already 1/0. */
  private initTrunk(ctx: InitContext): void {
    const visit = (m: Module) => {
      if (m instanceof PLA || m instanceof HLA || m instanceof DLA) return; // PyTorch defaults kept
      if (m instanceof Conv2d) kaimingNormalFanOut_(m.weight, ctx.rng);
      for (const [, c] of m.namedChildren()) visit(c);
    };
    visit(this);
  }

  /** The trunk up to layer4's output [N, 32w, h, w']. */
  trunk(x: Tensor<['N', 'C', 'H', 'W']>): Tensor<['N', 'C', 'H', 'W']> {
    expectShape(x, [null, 3, this.opts.inputSize[0], this.opts.inputSize[1]], 'backbone', 'image batch');
    let y = tap(this.conv1, this.conv1.forward(x));
    y = F.relu(this.bn1.forward(y));
    y = this.maxpool.forward(y);
    for (const layer of this.layers) y = layer.forward(y);
    return y;
  }

  /** Pooled, neck and embedding features. */
  features(x: Tensor<['N', 'C', 'H', 'W']>): BackboneOutput {
    const map = this.trunk(x);
    const pooled = (this.pool ? this.pool.forward(map) : F.globalAvgPool(map)) as Tensor<any> as Tensor<['N', 'D']>;
    const neck = this.featBn.forward(pooled);
    return { pooled, neck, embedding: F.l2Normalize(neck) };
  }

  /** The L2-normalised embedding [N, D]. */
  forward(x: Tensor<['N', 'C', 'H', 'W']>): Tensor<['N', 'D']> {
    return this.features(x).embedding;
  }
}

/** Parameters an optimizer should update (the frozen neck shift excluded). */
export function trainableParameters(m: Module): Tensor[] {
  return m.parameters().filter((p) => p.requiresGrad);
}
