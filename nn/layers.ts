/**
 * The ResNet building blocks as Modules over the autograd primitives (core/ops), with torchvision's
 * parameter names: Conv2d (weight, bias), BatchNorm (weight, bias, running_mean, running_var,
 * num_batches_tracked), Linear, MaxPool2d, GeM. (Activations and pooling without parameters are
 * called as ops: F.relu, F.globalAvgPool, ...)
 */
import { Tensor } from '../core/tensor.ts';
import * as F from '../core/ops/index.ts';
import { Module, type InitContext } from './module.ts';
import { biasUniform_, kaimingUniform_ } from './init.ts';

const pair = (v: number | [number, number]): [number, number] => (Array.isArray(v) ? v : [v, v]);

export interface Conv2dOptions {
  stride?: number | [number, number];
  padding?: number | [number, number];
  bias?: boolean;
}

export class Conv2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  stride: [number, number];
  padding: [number, number];

  constructor(readonly inChannels: number, readonly outChannels: number, kernel: number | [number, number], ctx: InitContext, opts: Conv2dOptions = {}) {
    super();
    const [kh, kw] = pair(kernel);
    this.stride = pair(opts.stride ?? 1);
    this.padding = pair(opts.padding ?? 0);
    this.weight = this.param('weight', kaimingUniform_(Tensor.zeros([outChannels, inChannels, kh, kw], ctx.dtype), ctx.rng));
    this.bias = opts.bias === false ? null : this.param('bias', biasUniform_(Tensor.zeros([outChannels], ctx.dtype), this.weight.shape, ctx.rng));
  }

  forward(x: Tensor<['N', 'C', 'H', 'W']>): Tensor<['N', 'C', 'H', 'W']> {
    return F.conv2d(x, this.weight, this.bias, { stride: this.stride, padding: this.padding }, `Conv2d ${this.inChannels}->${this.outChannels}`);
  }
}

/** BatchNorm1d ([N, C]) and BatchNorm2d ([N, C, H, W]) share this: statistics per channel (axis 1). */
export class BatchNorm extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  readonly runningMean: Tensor;
  readonly runningVar: Tensor;
  readonly numBatchesTracked: Tensor;
  momentum = 0.1;
  eps = 1e-5;

  constructor(readonly channels: number, ctx: InitContext) {
    super();
    this.weight = this.param('weight', Tensor.full([channels], 1, ctx.dtype));
    this.bias = this.param('bias', Tensor.zeros([channels], ctx.dtype));
    this.runningMean = this.buffer('running_mean', Tensor.zeros([channels], ctx.dtype));
    this.runningVar = this.buffer('running_var', Tensor.full([channels], 1, ctx.dtype));
    this.numBatchesTracked = this.buffer('num_batches_tracked', Tensor.zeros([], ctx.dtype));
  }

  forward<A extends readonly string[]>(x: Tensor<A>): Tensor<A> {
    if (this.training) this.numBatchesTracked.data[0]++;
    return F.batchNorm(x, this.weight, this.bias, this.runningMean, this.runningVar,
      { training: this.training, momentum: this.momentum, eps: this.eps }, `BatchNorm(${this.channels})`) as Tensor<A>;
  }
}

export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(inFeatures: number, outFeatures: number, ctx: InitContext, bias = true) {
    super();
    this.weight = this.param('weight', kaimingUniform_(Tensor.zeros([outFeatures, inFeatures], ctx.dtype), ctx.rng));
    this.bias = bias ? this.param('bias', biasUniform_(Tensor.zeros([outFeatures], ctx.dtype), this.weight.shape, ctx.rng)) : null;
  }

  forward(x: Tensor<['N', 'I']>): Tensor<['N', 'O']> {
    return F.linear(x, this.weight, this.bias);
  }
}

export class MaxPool2d extends Module {
  constructor(readonly kernel: number, readonly stride: number, readonly padding = 0) {
    super();
  }

  forward(x: Tensor<['N', 'C', 'H', 'W']>): Tensor<['N', 'C', 'H', 'W']> {
    return F.maxPool2d(x, { kernel: pair(this.kernel), stride: pair(this.stride), padding: pair(this.padding) });
  }
}

/** Generalised-mean pooling with a trainable exponent p (init 3, Radenović et al.). */
export class GeM extends Module {
  readonly p: Tensor;

  constructor(ctx: InitContext, p = 3, readonly eps = 1e-6) {
    super();
    this.p = this.param('p', Tensor.full([1], p, ctx.dtype));
  }

  forward(x: Tensor<['N', 'C', 'H', 'W']>): Tensor<['N', 'C']> {
    return F.gem(x, this.p, this.eps);
  }
}

