/**
 * Slow, obvious float64 references for the gpu.js kernels in gpu/kernels/ (row-major, NCHW).
 * Each is the textbook loop of its definition; spec/gpu-kernels.test.ts checks the kernels against them.
 */

type Arr = ArrayLike<number>;

/** out[b,i,j] = alpha * sum_k op(A_b)[i,k] op(B_b)[k,j]; A_b at b*sA, B_b at b*sB. */
export function bmmReference(
  A: Arr, B: Arr, batch: number, M: number, N: number, K: number,
  sA: number, sB: number, transA: boolean, transB: boolean, alpha: number,
): Float64Array {
  const out = new Float64Array(batch * M * N);
  for (let b = 0; b < batch; b++)
    for (let i = 0; i < M; i++)
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) {
          const a = transA ? A[b * sA + k * M + i] : A[b * sA + i * K + k];
          const v = transB ? B[b * sB + j * K + k] : B[b * sB + k * N + j];
          s += a * v;
        }
        out[(b * M + i) * N + j] = alpha * s;
      }
  return out;
}

export interface Geo { B: number; C: number; H: number; W: number; kh: number; kw: number; sh: number; sw: number; ph: number; pw: number }

export function outSize(g: Geo): { Ho: number; Wo: number } {
  return { Ho: Math.floor((g.H + 2 * g.ph - g.kh) / g.sh) + 1, Wo: Math.floor((g.W + 2 * g.pw - g.kw) / g.sw) + 1 };
}

/** x [B,C,H,W] (zero padded) at (b, c, y, x). */
function at(x: Arr, g: Geo, b: number, c: number, y: number, xx: number): number {
  return y < 0 || y >= g.H || xx < 0 || xx >= g.W ? 0 : x[((b * g.C + c) * g.H + y) * g.W + xx];
}

/** cols[b, (c*kh+ky)*kw+kx, oy*Wo+ox] = x[b, c, oy*sh-ph+ky, ox*sw-pw+kx]. */
export function im2colReference(x: Arr, g: Geo): Float64Array {
  const { Ho, Wo } = outSize(g);
  const R = g.C * g.kh * g.kw;
  const cols = new Float64Array(g.B * R * Ho * Wo);
  for (let b = 0; b < g.B; b++)
    for (let c = 0; c < g.C; c++)
      for (let ky = 0; ky < g.kh; ky++)
        for (let kx = 0; kx < g.kw; kx++)
          for (let oy = 0; oy < Ho; oy++)
            for (let ox = 0; ox < Wo; ox++)
              cols[((b * R + (c * g.kh + ky) * g.kw + kx) * Ho + oy) * Wo + ox] = at(x, g, b, c, oy * g.sh - g.ph + ky, ox * g.sw - g.pw + kx);
  return cols;
}

/** The adjoint of im2col: scatter-add every cols entry back onto the pixel it was copied from. */
export function col2imReference(cols: Arr, g: Geo): Float64Array {
  const { Ho, Wo } = outSize(g);
  const R = g.C * g.kh * g.kw;
  const x = new Float64Array(g.B * g.C * g.H * g.W);
  for (let b = 0; b < g.B; b++)
    for (let c = 0; c < g.C; c++)
      for (let ky = 0; ky < g.kh; ky++)
        for (let kx = 0; kx < g.kw; kx++)
          for (let oy = 0; oy < Ho; oy++)
            for (let ox = 0; ox < Wo; ox++) {
              const y = oy * g.sh - g.ph + ky;
              const xx = ox * g.sw - g.pw + kx;
              if (y < 0 || y >= g.H || xx < 0 || xx >= g.W) continue;
              x[((b * g.C + c) * g.H + y) * g.W + xx] += cols[((b * R + (c * g.kh + ky) * g.kw + kx) * Ho + oy) * Wo + ox];
            }
  return x;
}

/** Direct convolution y[b,o,oy,ox] = bias[o] + sum_{c,ky,kx} w[o,c,ky,kx] x[b,c,oy*sh-ph+ky,ox*sw-pw+kx]. */
export function conv2dReference(x: Arr, w: Arr, bias: Arr | null, Cout: number, g: Geo): Float64Array {
  const { Ho, Wo } = outSize(g);
  const y = new Float64Array(g.B * Cout * Ho * Wo);
  for (let b = 0; b < g.B; b++)
    for (let o = 0; o < Cout; o++)
      for (let oy = 0; oy < Ho; oy++)
        for (let ox = 0; ox < Wo; ox++) {
          let s = bias ? bias[o] : 0;
          for (let c = 0; c < g.C; c++)
            for (let ky = 0; ky < g.kh; ky++)
              for (let kx = 0; kx < g.kw; kx++)
                s += w[((o * g.C + c) * g.kh + ky) * g.kw + kx] * at(x, g, b, c, oy * g.sh - g.ph + ky, ox * g.sw - g.pw + kx);
          y[((b * Cout + o) * Ho + oy) * Wo + ox] = s;
        }
  return y;
}

/** Gradients of conv2dReference for upstream dy: each product term's partials, accumulated. */
export function conv2dBackwardReference(x: Arr, w: Arr, dy: Arr, Cout: number, g: Geo): { dx: Float64Array; dw: Float64Array; db: Float64Array } {
  const { Ho, Wo } = outSize(g);
  const dx = new Float64Array(g.B * g.C * g.H * g.W);
  const dw = new Float64Array(Cout * g.C * g.kh * g.kw);
  const db = new Float64Array(Cout);
  for (let b = 0; b < g.B; b++)
    for (let o = 0; o < Cout; o++)
      for (let oy = 0; oy < Ho; oy++)
        for (let ox = 0; ox < Wo; ox++) {
          const d = dy[((b * Cout + o) * Ho + oy) * Wo + ox];
          db[o] += d;
          for (let c = 0; c < g.C; c++)
            for (let ky = 0; ky < g.kh; ky++)
              for (let kx = 0; kx < g.kw; kx++) {
                const yy = oy * g.sh - g.ph + ky;
                const xx = ox * g.sw - g.pw + kx;
                if (yy < 0 || yy >= g.H || xx < 0 || xx >= g.W) continue;
                const wi = ((o * g.C + c) * g.kh + ky) * g.kw + kx;
                const xi = ((b * g.C + c) * g.H + yy) * g.W + xx;
                dw[wi] += d * x[xi];
                dx[xi] += d * w[wi];
              }
        }
  return { dx, dw, db };
}

/** Softmax of each row of x [R, L]. */
export function softmaxReference(x: Arr, R: number, L: number): Float64Array {
  const y = new Float64Array(R * L);
  for (let r = 0; r < R; r++) {
    let m = -Infinity;
    for (let l = 0; l < L; l++) m = Math.max(m, x[r * L + l]);
    let s = 0;
    for (let l = 0; l < L; l++) s += Math.exp(x[r * L + l] - m);
    for (let l = 0; l < L; l++) y[r * L + l] = Math.exp(x[r * L + l] - m) / s;
  }
  return y;
}

/** dx = J^T dy with the softmax Jacobian J[l,t] = y_l (delta_lt - y_t), written out in full. */
export function softmaxBackwardReference(y: Arr, dy: Arr, R: number, L: number): Float64Array {
  const dx = new Float64Array(R * L);
  for (let r = 0; r < R; r++)
    for (let t = 0; t < L; t++) {
      let s = 0;
      for (let l = 0; l < L; l++) s += dy[r * L + l] * y[r * L + l] * ((l === t ? 1 : 0) - y[r * L + t]);
      dx[r * L + t] = s;
    }
  return dx;
}

/** D[i,j] = sum_t (X[i,t] - Y[j,t])^2. */
export function pairwiseSqDistReference(X: Arr, Y: Arr, n: number, m: number, d: number): Float64Array {
  const D = new Float64Array(n * m);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < m; j++) {
      let s = 0;
      for (let t = 0; t < d; t++) s += (X[i * d + t] - Y[j * d + t]) ** 2;
      D[i * m + j] = s;
    }
  return D;
}

/** Deterministic uniform [-1, 1) values from a seed (mulberry32). */
export function randoms(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((t ^ (t >>> 14)) >>> 0) / 2 ** 31 - 1;
  }
  return out;
}

/** Throws naming the first element with |got - ref| > 2e-5 * (1 + scale) (float32 sums of `scale` magnitude). */
export function expectClose(got: ArrayLike<number>, ref: ArrayLike<number>, scale: number, what: string): void {
  if (got.length !== ref.length) throw new Error(`${what}: length ${got.length}, reference ${ref.length}`);
  for (let i = 0; i < ref.length; i++) {
    const err = Math.abs(got[i] - ref[i]);
    if (!(err <= 2e-5 * (1 + scale))) {
      throw new Error(`${what}: element ${i} is ${got[i]}, reference ${ref[i]} (|diff| ${err}, scale ${scale})`);
    }
  }
}
