/**
 * The wasm conv2d kernels on one thread, over a range of the work: images n0..n1 (forward, dX) or
 * rows r0..r1 of im2col's CK = C·kh·kw rows (dW: every image, in order). Any split of the ranges
 * gives the same numbers, bit for bit (each output element is summed in the same order), so the
 * threads of core/wasm/backend.ts may share the work any way. Operands outside the wasm memory are
 * copied in, results copied back (core/wasm/kernels.ts).
 */
import type { ConvGeometry } from '../kernels/conv.ts';
import { isDirect } from '../kernels/conv.ts';
import { wasmCall } from './kernels.ts';

function colsFloats(g: ConvGeometry, rows: number): number {
  return isDirect(g) ? 0 : rows * g.Ho * g.Wo;
}

/** y[n0:n1] = conv(x[n0:n1], w) (+ b). */
export function convForwardRange(g: ConvGeometry, x: Float32Array, w: Float32Array, b: Float32Array | null, y: Float32Array, n0: number, n1: number): void {
  const { w: k, arena, pack } = wasmCall('conv2d')!;
  const xs = g.C * g.H * g.W, ys = g.O * g.Ho * g.Wo, CK = g.C * g.kh * g.kw;
  const xp = arena.put(x, n0 * xs, (n1 - n0) * xs);
  const wp = arena.put(w, 0, g.O * CK);
  const bp = b ? arena.put(b, 0, g.O) : 0;
  const yp = arena.out(y, n0 * ys, (n1 - n0) * ys);
  const cols = arena.take(colsFloats(g, CK));
  const packedW = arena.take(k.gemmPackedABytes(g.O, CK) / 4);
  k.convForward(xp, wp, bp, b ? 1 : 0, n1 - n0, g.C, g.H, g.W, g.O, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.Ho, g.Wo, yp, cols, pack, packedW);
  arena.get(yp, 1, (n1 - n0) * ys, 0, y, n0 * ys);
}

/** dw[:, r0:r1] += Σ_n dy[n] · cols_n[r0:r1]ᵀ (dw [O, CK]). */
export function convBackpropFilterRange(g: ConvGeometry, x: Float32Array, dy: Float32Array, dw: Float32Array, r0: number, r1: number): void {
  const { w: k, arena, pack } = wasmCall('conv2dBackpropFilter')!;
  const CK = g.C * g.kh * g.kw;
  const xp = arena.put(x, 0, g.N * g.C * g.H * g.W);
  const dyp = arena.put(dy, 0, g.N * g.O * g.Ho * g.Wo);
  const dwp = arena.put(dw, 0, g.O * CK);
  const cols = arena.take(colsFloats(g, r1 - r0));
  k.convBackpropFilter(xp, dyp, g.N, g.C, g.H, g.W, g.O, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.Ho, g.Wo, r0, r1, dwp, cols, pack);
  arena.get(dwp + r0 * 4, g.O, r1 - r0, CK, dw, r0);
}

/** dx[n0:n1] += col2im(wᵀ · dy[n]). */
export function convBackpropInputRange(g: ConvGeometry, w: Float32Array, dy: Float32Array, dx: Float32Array, n0: number, n1: number): void {
  const { w: k, arena, pack } = wasmCall('conv2dBackpropInput')!;
  const xs = g.C * g.H * g.W, ys = g.O * g.Ho * g.Wo, CK = g.C * g.kh * g.kw;
  const wp = arena.put(w, 0, g.O * CK);
  const dyp = arena.put(dy, n0 * ys, (n1 - n0) * ys);
  const dxp = arena.put(dx, n0 * xs, (n1 - n0) * xs);
  const cols = arena.take(colsFloats(g, CK));
  const packedW = arena.take(k.gemmPackedABytes(CK, g.O) / 4);
  k.convBackpropInput(wp, dyp, n1 - n0, g.C, g.H, g.W, g.O, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.Ho, g.Wo, dxp, cols, pack, packedW);
  arena.get(dxp, 1, (n1 - n0) * xs, 0, dx, n0 * xs);
}
