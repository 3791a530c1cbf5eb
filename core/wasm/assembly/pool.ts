/**
 * Max pooling of core/kernels/pool.ts in WebAssembly, float32, on planes q0..q1 of x [planes, H, W]
 * (operands in this module's linear memory, byte addresses; x and y start at plane q0, argmax
 * indices count from plane 0 of the whole x). Each window's inside is clipped once, and the running
 * maximum is a `select`: the same numbers as the cpu kernel, bit for bit, since both
 * take the first strict maximum in row-major window order. Windows whose columns are all inside
 * run four at a time (stride 1 or 2), with the same comparisons per lane:
 *
 *   y[q, oy, ox] = max over the inside of the window, argmax = its flat index into x
 *   (a window wholly in the padding: y = −∞, argmax = −1)
 *
 * The backward (dx[argmax[o]] += dy[o], a scatter) stays on the cpu kernel.
 */

/**
 * x[p], x[p + sw], x[p + 2sw], x[p + 3sw] for sw 1 or 2 (stride 2: the even lanes of two loads, the
 * last float loaded lies inside the next window to the right, which the caller ensures exists).
 */
// @ts-ignore: decorator
@inline function windowStarts(p: usize, sw: i32): v128 {
  if (sw == 1) return v128.load(p);
  return f32x4.shuffle(v128.load(p), v128.load(p, 16), 0, 2, 4, 6);
}

export function maxPool2d(x: usize, q0: i32, q1: i32, H: i32, W: i32, kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32,
  Ho: i32, Wo: i32, y: usize, argmax: usize): void {
  for (let q = q0; q < q1; q++) {
    const plane = x + ((<usize>(q - q0) * <usize>(H * W)) << 2);
    const base = q * H * W;
    let o = <usize>((q - q0) * Ho * Wo) << 2;
    // outputs ox in [oxLo, oxHi) have all their window's columns inside [0, W)
    const oxLo = min(Wo, pw <= 0 ? 0 : (pw + sw - 1) / sw);
    const oxHi = max(oxLo, min(Wo, W - kw + pw < 0 ? 0 : (W - kw + pw) / sw + 1));
    const lanes = sw == 1 ? i32x4(0, 1, 2, 3) : i32x4(0, 2, 4, 6);
    for (let oy = 0; oy < Ho; oy++) {
      const y0 = max(0, oy * sh - ph), y1 = min(H, oy * sh - ph + kh);
      for (let ox = 0; ox < Wo; ox++, o += 4) {
        if (sw <= 2 && y0 < y1 && ox >= oxLo && ox + 4 < oxHi) {
          // four windows at once: per lane the same comparisons in the same order as below
          const x0 = ox * sw - pw;
          const first = y0 * W + x0;
          let best = windowStarts(plane + (<usize>first << 2), sw);
          let at = i32x4.add(i32x4.splat(first), lanes);
          for (let yy = y0; yy < y1; yy++) {
            for (let xx = 0; xx < kw; xx++) {
              const idx = yy * W + x0 + xx;
              const v = windowStarts(plane + (<usize>idx << 2), sw);
              const better = f32x4.gt(v, best);
              best = v128.bitselect(v, best, better);
              at = v128.bitselect(i32x4.add(i32x4.splat(idx), lanes), at, better);
            }
          }
          v128.store(y + o, best);
          v128.store(argmax + o, i32x4.add(at, i32x4.splat(base)));
          ox += 3;
          o += 12;
          continue;
        }
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
