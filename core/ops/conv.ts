/**
 * conv2d (torch.nn.functional.conv2d, zero padding, no dilation or groups), forward and backward as
 * calls of the active backend's kernels (core/backend.ts; the cpu ones, im2col + GEMM, are the
 * definition: core/kernels/conv.ts):
 *
 *   x [N, C, H, W], w [O, C, kh, kw], b [O]  ->  y [N, O, Ho, Wo],  Ho = floor((H + 2ph - kh) / sh) + 1
 *   forward:   y = conv2d(x, w) + b
 *   backward:  dw += conv2dBackpropFilter(x, dy);  dx += conv2dBackpropInput(w, dy);  db = Σ_{n,p} dy
 */
import { Tensor, ShapeError } from '../tensor.ts';
import { TensorStorage } from '../tensor-storage.ts';
import { record } from '../autograd.ts';
import { kernels } from '../backend.ts';
import { convOutputSize, type ConvGeometry } from '../kernels/conv.ts';

export { convOutputSize };

export interface Conv2dAttrs {
  stride: [number, number];
  padding: [number, number];
}

export function conv2d(x: Tensor<any>, w: Tensor, b: Tensor | null, attrs: Conv2dAttrs, where = 'conv2d'): Tensor<['N', 'C', 'H', 'W']> {
  const [N, C, H, W] = x.shape;
  const [O, Cw, kh, kw] = w.shape;
  const [sh, sw] = attrs.stride;
  const [ph, pw] = attrs.padding;
  if (x.rank !== 4 || w.rank !== 4 || C !== Cw) {
    throw new ShapeError(`${where}: input [${x.shape}] does not fit weight [${w.shape}] (want input [N,${Cw},H,W])`);
  }
  if (b && (b.rank !== 1 || b.shape[0] !== O)) throw new ShapeError(`${where}: bias [${b.shape}] does not fit ${O} output channels`);
  const Ho = convOutputSize(H, kh, sh, ph);
  const Wo = convOutputSize(W, kw, sw, pw);
  if (Ho <= 0 || Wo <= 0) throw new ShapeError(`${where}: input [${x.shape}] is smaller than kernel ${kh}x${kw} with padding ${ph}x${pw}`);
  const g: ConvGeometry = { N, C, H, W, O, kh, kw, sh, sw, ph, pw, Ho, Wo };
  const P = Ho * Wo;
  const y = new TensorStorage(x.dtype, N * O * P);
  kernels.conv2d(g, x.storage, w.storage, b ? b.storage : null, y);
  const out = new Tensor<['N', 'C', 'H', 'W']>(y, [N, O, Ho, Wo]);
  return record(out, [x, w, b], (gradOut) => {
    if (b?.requiresGrad) kernels.biasGradient(N, O, P, gradOut, b.gradOf());
    if (w.requiresGrad) kernels.conv2dBackpropFilter(g, x.storage, gradOut, w.gradOf());
    if (x.requiresGrad) kernels.conv2dBackpropInput(g, w.storage, gradOut, x.gradOf());
  });
}
