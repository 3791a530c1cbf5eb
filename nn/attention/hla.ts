/**
 * Head-level attention (HLA), paper section 3.1, Figure 2: BoTNet's multi-head self-attention
 * (MHSA) over all H·W positions of a feature map, with a learnable 2-D position encoding.
 *
 * The paper gives HLA in words, not as a numbered equation; the project's contract (conformance
 * op `hla`) and DESIGN.md fix the formulas, numbered here (H1)-(H5) so each line can cite one:
 *
 *   (H1)  q, k, v = W_q x + b_q,  W_k x + b_k,  W_v x + b_v        (1×1 convs with bias)
 *         split into `heads` groups of d = C / heads channels (head h owns channels h·d … h·d+d−1)
 *   (H2)  pos[h, :, p] = rel_h[h, :, y] + rel_w[h, :, x]           (p = y·W + x)
 *   (H3)  logits[n, h, i, j] = scale · (q_i · k_j + q_i · pos_j)    (computed as q_i · (k_j + pos_j))
 *   (H4)  attn[n, h, i, :] = softmax_j(logits[n, h, i, :])
 *   (H5)  y_i = Σ_j attn[i, j] v_j,  heads concatenated back in channel order (no output projection)
 *
 * | paper / BoTNet              | name here                             |
 * |-----------------------------|---------------------------------------|
 * | W_q, W_k, W_v (1×1 convs)   | `query`, `key`, `value` (Conv2d C→C)   |
 * | position encoding (pos)     | `rel_h` [heads, d, H], `rel_w` [heads, d, W] |
 * | q ⊗ k, q ⊗ pos, ⊕           | one bmm of q with (k + pos)            |
 * | scale                       | `scale`: 1/√d (default) or 1           |
 *
 * Shapes: x [N, C, H, W]; q, k, v [N·heads, d, P] with P = H·W; logits, attn [N·heads, P, P];
 * y [N, C, H, W]. H and W are fixed at construction (the position encoding has one entry per row
 * and column), so the input image size decides them.
 * Init: the 1×1 convs take PyTorch's Conv2d default; rel_h, rel_w are standard normal (BoTNet).
 */
import { Tensor, expectShape, ShapeError } from '../../core/tensor.ts';
import * as F from '../../core/ops/index.ts';
import { Module, type InitContext } from '../module.ts';
import { Conv2d } from '../layers.ts';
import { normal_ } from '../init.ts';

export interface HLAOptions {
  /** Number of heads (BoTNet: 4). */
  heads?: number;
  /** Logit scale: '1/sqrt(d)' (default) or 1 (the popular PyTorch BoTNet port has no scaling). */
  scale?: 'invsqrt' | 1;
}

export class HLA extends Module {
  readonly query: Conv2d;
  readonly key: Conv2d;
  readonly value: Conv2d;
  readonly relH: Tensor;
  readonly relW: Tensor;
  readonly heads: number;
  readonly d: number;
  readonly scale: number;

  constructor(readonly C: number, readonly H: number, readonly W: number, ctx: InitContext, opts: HLAOptions = {}) {
    super();
    this.heads = opts.heads ?? 4;
    if (C % this.heads !== 0) throw new ShapeError(`HLA: ${C} channels do not split into ${this.heads} heads`);
    this.d = C / this.heads;
    this.scale = (opts.scale ?? 'invsqrt') === 1 ? 1 : 1 / Math.sqrt(this.d);
    this.query = this.child('query', new Conv2d(C, C, 1, ctx));
    this.key = this.child('key', new Conv2d(C, C, 1, ctx));
    this.value = this.child('value', new Conv2d(C, C, 1, ctx));
    this.relH = this.param('rel_h', normal_(Tensor.zeros([this.heads, this.d, H], ctx.dtype), ctx.rng));
    this.relW = this.param('rel_w', normal_(Tensor.zeros([this.heads, this.d, W], ctx.dtype), ctx.rng));
  }

  forward(x: Tensor<['N', 'C', 'H', 'W']>): Tensor<['N', 'C', 'H', 'W']> {
    expectShape(x, [null, this.C, this.H, this.W], `HLA (heads ${this.heads}, built for a ${this.H}x${this.W} map)`);
    return hla(x, {
      wq: this.query.weight, bq: this.query.bias!, wk: this.key.weight, bk: this.key.bias!,
      wv: this.value.weight, bv: this.value.bias!, relH: this.relH, relW: this.relW,
    }, this.heads, this.scale);
  }
}

export interface HLAWeights {
  wq: Tensor; bq: Tensor; wk: Tensor; bk: Tensor; wv: Tensor; bv: Tensor;
  /** [heads, d, H] and [heads, d, W]. */
  relH: Tensor; relW: Tensor;
}

/** (H1)-(H5) as a function of the weights. */
export function hla(x: Tensor<any>, w: HLAWeights, heads: number, scale: number): Tensor<['N', 'C', 'H', 'W']> {
  const [N, C, H, W] = x.shape;
  const d = C / heads;
  const P = H * W;
  if (!Number.isInteger(d)) throw new ShapeError(`HLA: ${C} channels do not split into ${heads} heads`);
  expectShape(w.relH, [heads, d, H], 'HLA position encoding (H2)', 'rel_h');
  expectShape(w.relW, [heads, d, W], 'HLA position encoding (H2)', 'rel_w');
  const conv1x1 = (wt: Tensor, b: Tensor) => F.conv2d(x, wt, b, { stride: [1, 1], padding: [0, 0] }, 'HLA 1x1 q/k/v (H1)');
  // (H1) q, k, v = 1×1 convs with bias, viewed as heads of d channels
  const q = F.reshape(conv1x1(w.wq, w.bq), [N * heads, d, P]);
  const k = F.reshape(conv1x1(w.wk, w.bk), [N, heads, d, P]);
  const v = F.reshape(conv1x1(w.wv, w.bv), [N * heads, d, P]);
  // (H2) pos[h, :, y·W + x] = rel_h[h, :, y] + rel_w[h, :, x]
  const pos = F.reshape(F.add(F.reshape(w.relH, [heads, d, H, 1]), F.reshape(w.relW, [heads, d, 1, W])), [heads, d, P]);
  // (H3) q_i·k_j + q_i·pos_j = q_i·(k_j + pos_j): one product, pos shared by every image
  const keyPos = F.reshape(F.add(k, pos), [N * heads, d, P]);
  let logits = F.bmm(q, keyPos, true, false);
  // (H3) logits = scale · (…)
  if (scale !== 1) logits = F.mulScalar(logits, scale);
  // (H4) softmax over j (the last axis)
  const attn = F.softmax(logits);
  // (H5) y[:, i] = Σ_j v[:, j] attn[i, j], i.e. v · attnᵀ; heads back in channel order
  const y = F.bmm(v, attn, false, true);
  return F.reshape(y, [N, C, H, W]);
}
