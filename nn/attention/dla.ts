/**
 * Domain-level attention (DLA), paper section 3.3, Figure 4: attention against two learned
 * 1×1 "storage units" k_D and v_D shared by the whole data set (external attention), in place of
 * the per-image k and v of self-attention.
 *
 *   (4)  q = conv^{1×1}(F)
 *   (5)  qkᵀ = softmax( k_D^{1×1×c_k}(q) )                      softmax over the h·w positions
 *   (6)  DLA(F) = F + v_D^{1×1×c}( Norm(qkᵀ) )                  Norm: divide by (eps + Σ over the c_k units)
 *
 * | paper                  | name here                                          |
 * |------------------------|----------------------------------------------------|
 * | F (h×w×c)              | `x` [N, C, H, W]                                   |
 * | conv^{1×1} of eq. (4)  | `query` (Conv2d C→C with bias)                     |
 * | k_D^{1×1} (c → c_k)    | `k_d` (Conv2d C→c_k, no bias)                      |
 * | v_D^{1×1} (c_k → c)    | `v_d` (Conv2d c_k→C, no bias)                      |
 * | Norm                   | L1 over c_k at each position, eps = 1e-9           |
 * | c_k                    | `ck` (64 by default)                               |
 *
 * Shapes: x, q [N, C, H, W]; s, a [N, c_k, P] with P = H·W; y [N, C, H, W].
 * Init: `query` and `k_d` take PyTorch's Conv2d default; v_D starts as k_Dᵀ (the paper: "their
 * initial weight parameters are transposed to each other").
 */
import { Tensor, expectShape } from '../../core/tensor.ts';
import * as F from '../../core/ops/index.ts';
import { Module, type InitContext } from '../module.ts';
import { Conv2d } from '../layers.ts';

export interface DLAOptions {
  /** c_k, the number of storage units (default 64). */
  ck?: number;
  /** eps of the L1 normalisation (default 1e-9). */
  eps?: number;
}

export class DLA extends Module {
  readonly query: Conv2d;
  readonly kD: Conv2d;
  readonly vD: Conv2d;
  readonly ck: number;
  readonly eps: number;

  constructor(readonly C: number, ctx: InitContext, opts: DLAOptions = {}) {
    super();
    this.ck = opts.ck ?? 64;
    this.eps = opts.eps ?? 1e-9;
    this.query = this.child('query', new Conv2d(C, C, 1, ctx));
    this.kD = this.child('k_d', new Conv2d(C, this.ck, 1, ctx, { bias: false }));
    this.vD = this.child('v_d', new Conv2d(this.ck, C, 1, ctx, { bias: false }));
    // k_D [c_k, C] and v_D [C, c_k] start as transposes of each other
    const kw = this.kD.weight.data, vw = this.vD.weight.data;
    for (let u = 0; u < this.ck; u++) for (let c = 0; c < C; c++) vw[c * this.ck + u] = kw[u * C + c];
  }

  /** The normalised attention Norm(qkᵀ) [N, c_k, P] (exposed for tests and visualisation). */
  attention(x: Tensor<['N', 'C', 'H', 'W']>): Tensor<['N', 'K', 'P']> {
    expectShape(x, [null, this.C, null, null], `DLA (eqs. 4-6, c = ${this.C})`);
    return dlaAttention(x, this.query.weight, this.query.bias, this.kD.weight, this.eps);
  }

  forward(x: Tensor<['N', 'C', 'H', 'W']>): Tensor<['N', 'C', 'H', 'W']> {
    expectShape(x, [null, this.C, null, null], `DLA (eqs. 4-6, c = ${this.C})`);
    return dla(x, this.query.weight, this.query.bias, this.kD.weight, this.vD.weight, this.eps);
  }
}

const conv1x1 = (x: Tensor<any>, w: Tensor, b: Tensor | null, where: string) =>
  F.conv2d(x, w, b, { stride: [1, 1], padding: [0, 0] }, where);

/** Eqs. (4)-(5) and Norm: wq [C, C, 1, 1], bq [C], wk [c_k, C, 1, 1] → Norm(qkᵀ) [N, c_k, P]. */
export function dlaAttention(x: Tensor<any>, wq: Tensor, bq: Tensor | null, wk: Tensor, eps: number): Tensor<['N', 'K', 'P']> {
  const [N, , H, W] = x.shape;
  const ck = wk.shape[0];
  // (4) q = conv^{1×1}(F)
  const q = conv1x1(x, wq, bq, 'DLA query (eq. 4)');
  // (5) k_D(q), viewed as [N, c_k, P]
  const s = F.reshape(conv1x1(q, wk, null, 'DLA k_D (eq. 5)'), [N, ck, H * W]);
  // (5) qkᵀ = softmax over the positions (the last axis)
  const a = F.softmax(s);
  // (6) Norm(qkᵀ) = qkᵀ / (eps + Σ over the c_k units), at each position
  return F.div(a, F.addScalar(F.sum(a, 1), eps)) as Tensor<any>;
}

/** Eqs. (4)-(6) as a function of the weights; wv [C, c_k, 1, 1]. */
export function dla(x: Tensor<any>, wq: Tensor, bq: Tensor | null, wk: Tensor, wv: Tensor, eps: number): Tensor<['N', 'C', 'H', 'W']> {
  const [N, , H, W] = x.shape;
  const a = F.reshape(dlaAttention(x, wq, bq, wk, eps), [N, wk.shape[0], H, W]);
  // (6) DLA(F) = F + v_D(Norm(qkᵀ))
  return F.add(x, conv1x1(a, wv, null, 'DLA v_D (eq. 6)'));
}
