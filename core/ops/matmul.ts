/**
 * Matrix products through the GEMM kernel of the active backend:
 * - bmm: batched [B, M, K] x [B, K, N] with optional transposes of either side,
 * - linear: y = x w^T + b (torch.nn.functional.linear).
 * Backward of C = op(A) op(B):  dA = dC op(B)^T,  dB = op(A)^T dC  (transposed back where op is).
 */
import { Tensor, allocUnzeroed, ShapeError } from '../tensor.ts';
import { TensorStorage } from '../tensor-storage.ts';
import { record } from '../autograd.ts';
import { kernels } from '../backend.ts';

/** Batched matmul over the leading axes (equal in a and b). transA: a holds [.., K, M]. */
export function bmm(a: Tensor<any>, b: Tensor<any>, transA = false, transB = false): Tensor {
  if (a.rank < 2 || a.rank !== b.rank || a.shape.slice(0, -2).some((d, i) => d !== b.shape[i])) {
    throw new ShapeError(`bmm: batch axes of [${a.shape}] and [${b.shape}] differ`);
  }
  const [ar, ac] = a.shape.slice(-2);
  const [br, bc] = b.shape.slice(-2);
  const [M, K] = transA ? [ac, ar] : [ar, ac];
  const [K2, N] = transB ? [bc, br] : [br, bc];
  if (K !== K2) throw new ShapeError(`bmm: inner sizes differ: [${a.shape}]${transA ? 'ᵀ' : ''} x [${b.shape}]${transB ? 'ᵀ' : ''}`);
  const batch = a.size / (ar * ac);
  const y = new TensorStorage(a.dtype, batch * M * N);
  const gemm = kernels.gemm;
  for (let i = 0; i < batch; i++) {
    gemm(transA, transB, M, N, K, 1, a.storage, i * M * K, ac, b.storage, i * K * N, bc, 0, y, i * M * N, N);
  }
  const out = new Tensor(y, [...a.shape.slice(0, -2), M, N]);
  return record(out, [a, b], (g) => {
    for (let i = 0; i < batch; i++) {
      if (a.requiresGrad) {
        const ga = a.gradOf();
        // dA = dC op(B)^T  (stored as A's layout: if transA, dA^T = op(B) dC^T)
        if (!transA) gemm(false, !transB, M, K, N, 1, g, i * M * N, N, b.storage, i * K * N, bc, 1, ga, i * M * K, ac);
        else gemm(transB, true, K, M, N, 1, b.storage, i * K * N, bc, g, i * M * N, N, 1, ga, i * M * K, ac);
      }
      if (b.requiresGrad) {
        const gb = b.gradOf();
        // dB = op(A)^T dC  (if transB, dB^T = dC^T op(A))
        if (!transB) gemm(!transA, false, K, N, M, 1, a.storage, i * M * K, ac, g, i * M * N, N, 1, gb, i * K * N, bc);
        else gemm(true, transA, N, K, M, 1, g, i * M * N, N, a.storage, i * M * K, ac, 1, gb, i * K * N, bc);
      }
    }
  });
}

/** y[N, O] = x[N, I] w[O, I]^T + b[O]. */
export function linear(x: Tensor<any>, w: Tensor, b: Tensor | null): Tensor<['N', 'O']> {
  const [n, inF] = x.shape;
  const [outF, inW] = w.shape;
  if (x.rank !== 2 || w.rank !== 2 || inF !== inW || (b && (b.rank !== 1 || b.shape[0] !== outF))) {
    throw new ShapeError(`linear: x [${x.shape}], weight [${w.shape}]${b ? `, bias [${b.shape}]` : ''} do not fit (want x [N,I], weight [O,I], bias [O])`);
  }
  const gemm = kernels.gemm;
  const y = allocUnzeroed(x.dtype, n * outF);
  if (b) for (let r = 0; r < n; r++) y.set(b.storage.read(), r * outF);
  gemm(false, true, n, outF, inF, 1, x.storage, 0, inF, w.storage, 0, inF, b ? 1 : 0, y, 0, outF);
  return record(new Tensor<['N', 'O']>(y, [n, outF]), [x, w, b], (dy) => {
    if (x.requiresGrad) gemm(false, false, n, inF, outF, 1, dy, 0, outF, w.storage, 0, inF, 1, x.gradOf(), 0, inF);
    if (w.requiresGrad) gemm(true, false, outF, inF, n, 1, dy, 0, outF, x.storage, 0, inF, 1, w.gradOf(), 0, inF);
    if (b?.requiresGrad) kernels.biasGradient(n, outF, 1, dy, b.gradOf());
  });
}
