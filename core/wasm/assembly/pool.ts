/**
 * Max pooling of core/kernels/pool.ts in WebAssembly, float32, on planes q0..q1 of x [planes, H, W]
 * (operands in this module's linear memory, byte addresses; x and y start at plane q0, argmax
 * indices count from plane 0 of the whole x). Each window's inside is clipped once, and the running
 * maximum is a `select`: the same numbers as the cpu kernel, bit for bit, since both
 * take the first strict maximum in row-major window order:
 *
 *   y[q, oy, ox] = max over the inside of the window, argmax = its flat index into x
 *   (a window wholly in the padding: y = −∞, argmax = −1)
 *
 * The backward (dx[argmax[o]] += dy[o], a scatter) stays on the cpu kernel.
 */

export function maxPool2d(x: usize, q0: i32, q1: i32, H: i32, W: i32, kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32,
  Ho: i32, Wo: i32, y: usize, argmax: usize): void {
  for (let q = q0; q < q1; q++) {
    const plane = x + ((<usize>(q - q0) * <usize>(H * W)) << 2);
    const base = q * H * W;
    let o = <usize>((q - q0) * Ho * Wo) << 2;
    for (let oy = 0; oy < Ho; oy++) {
      const y0 = max(0, oy * sh - ph), y1 = min(H, oy * sh - ph + kh);
      for (let ox = 0; ox < Wo; ox++, o += 4) {
        const x0 = max(0, ox * sw - pw), x1 = min(W, ox * sw - pw + kw);
        let best: f32 = -Infinity;
        let at: i32 = -1;
        if (y0 < y1 && x0 < x1) {
          at = y0 * W + x0;
          best = load<f32>(plane + (<usize>at << 2));
          for (let yy = y0; yy < y1; yy++) {
            for (let xx = x0; xx < x1; xx++) {
              const idx = yy * W + xx;
              const v = load<f32>(plane + (<usize>idx << 2));
              const better = v > best;
              best = select<f32>(v, best, better);
              at = select<i32>(idx, at, better);
            }
          }
          at += base;
        }
        store<f32>(y + o, best);
        store<i32>(argmax + o, at);
      }
    }
  }
}
