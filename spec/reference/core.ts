/**
 * Slow, literal references for every primitive of core/ops and for core/gemm.
 *
 * Each function is written the way the operation is defined (one loop per index of the formula),
 * in float64, with no blocking, packing, im2col or reuse of buffers. They define what the fast
 * paths must compute; spec/core-*.test.ts checks the fast paths against them on random shapes.
 *
 * Arrays are plain row-major `ArrayLike<number>` with explicit shapes; results are Float64Array.
 *   gemmReference         C = alpha op(A) op(B) + beta C  (offsets and leading dimensions honoured)
 *   conv2dReference       y[n,o,oy,ox] = b[o] + Σ_{c,i,j} w[o,c,i,j] x[n,c,oy·sh−ph+i, ox·sw−pw+j]
 *   conv2dBackwardReference  dx, dw, db of Σ(y·g) by the same six loops
 *   batchNormReference    training (batch statistics, running stats moved) and eval (running stats)
 *   maxPool2dReference, avgPoolReference (global), gemReference, softmaxReference, l2NormalizeReference,
 *   bmmReference, broadcastReference, sumReference, permuteReference
 *   adamReference         Adam with coupled weight decay, step by step as torch.optim.Adam defines it
 *   crossEntropyReference per row: −log softmax(x)[t] and its gradient softmax(x) − onehot(t)
 */

export type Arr = ArrayLike<number>;

/** Element (i, k) of op(X) for a row-major X stored from `off` with leading dimension `ld`. */
function at(X: Arr, off: number, ld: number, trans: boolean, i: number, k: number): number {
  return trans ? X[off + k * ld + i] : X[off + i * ld + k];
}

/** C[cOff + i·ldc + j] = alpha Σ_k op(A)[i,k] op(B)[k,j] + beta C[...]; touches only the M×N block. */
export function gemmReference(transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number,
  A: Arr, aOff: number, lda: number, B: Arr, bOff: number, ldb: number, beta: number,
  C: Arr, cOff: number, ldc: number): Float64Array {
  const out = Float64Array.from(C);
  for (let i = 0; i < M; i++)
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += at(A, aOff, lda, transA, i, k) * at(B, bOff, ldb, transB, k, j);
      const c = cOff + i * ldc + j;
      out[c] = alpha * s + (beta === 0 ? 0 : beta * C[c]);
    }
  return out;
}

export interface ConvGeometry {
  N: number; C: number; H: number; W: number;
  O: number; kh: number; kw: number;
  sh: number; sw: number; ph: number; pw: number;
}

export function convOut(g: ConvGeometry): [number, number] {
  return [Math.floor((g.H + 2 * g.ph - g.kh) / g.sh) + 1, Math.floor((g.W + 2 * g.pw - g.kw) / g.sw) + 1];
}

/** Input value at (n, c, y, x), zero outside the image (zero padding). */
function xAt(x: Arr, g: ConvGeometry, n: number, c: number, y: number, xx: number): number {
  if (y < 0 || y >= g.H || xx < 0 || xx >= g.W) return 0;
  return x[((n * g.C + c) * g.H + y) * g.W + xx];
}

export function conv2dReference(x: Arr, w: Arr, b: Arr | null, g: ConvGeometry): Float64Array {
  const [Ho, Wo] = convOut(g);
  const y = new Float64Array(g.N * g.O * Ho * Wo);
  for (let n = 0; n < g.N; n++)
    for (let o = 0; o < g.O; o++)
      for (let oy = 0; oy < Ho; oy++)
        for (let ox = 0; ox < Wo; ox++) {
          let s = b ? b[o] : 0;
          for (let c = 0; c < g.C; c++)
            for (let i = 0; i < g.kh; i++)
              for (let j = 0; j < g.kw; j++) {
                s += w[((o * g.C + c) * g.kh + i) * g.kw + j] * xAt(x, g, n, c, oy * g.sh - g.ph + i, ox * g.sw - g.pw + j);
              }
          y[((n * g.O + o) * Ho + oy) * Wo + ox] = s;
        }
  return y;
}

/**
 * Gradients of L = Σ y·gy by definition: every product w[o,c,i,j]·x[n,c,y,x] in the forward sum
 * contributes gy[n,o,oy,ox]·x to dw and gy·w to dx (when (y, x) lies inside the image).
 */
export function conv2dBackwardReference(x: Arr, w: Arr, gy: Arr, g: ConvGeometry): { dx: Float64Array; dw: Float64Array; db: Float64Array } {
  const [Ho, Wo] = convOut(g);
  const dx = new Float64Array(g.N * g.C * g.H * g.W);
  const dw = new Float64Array(g.O * g.C * g.kh * g.kw);
  const db = new Float64Array(g.O);
  for (let n = 0; n < g.N; n++)
    for (let o = 0; o < g.O; o++)
      for (let oy = 0; oy < Ho; oy++)
        for (let ox = 0; ox < Wo; ox++) {
          const up = gy[((n * g.O + o) * Ho + oy) * Wo + ox];
          db[o] += up;
          for (let c = 0; c < g.C; c++)
            for (let i = 0; i < g.kh; i++)
              for (let j = 0; j < g.kw; j++) {
                const yy = oy * g.sh - g.ph + i;
                const xx = ox * g.sw - g.pw + j;
                if (yy < 0 || yy >= g.H || xx < 0 || xx >= g.W) continue;
                const wi = ((o * g.C + c) * g.kh + i) * g.kw + j;
                const xi = ((n * g.C + c) * g.H + yy) * g.W + xx;
                dw[wi] += up * x[xi];
                dx[xi] += up * w[wi];
              }
        }
  return { dx, dw, db };
}

/**
 * BatchNorm over x [N, C, S...] (S = product of the trailing axes), statistics per channel.
 * Returns y and the new running statistics (unchanged in eval mode).
 */
export function batchNormReference(x: Arr, shape: readonly number[], gamma: Arr, beta: Arr, runningMean: Arr, runningVar: Arr,
  training: boolean, momentum: number, eps: number): { y: Float64Array; runningMean: Float64Array; runningVar: Float64Array } {
  const [N, C] = shape;
  const S = shape.slice(2).reduce((a, b) => a * b, 1);
  const y = new Float64Array(N * C * S);
  const rm = Float64Array.from(runningMean);
  const rv = Float64Array.from(runningVar);
  for (let c = 0; c < C; c++) {
    const values: number[] = [];
    for (let n = 0; n < N; n++) for (let s = 0; s < S; s++) values.push(x[(n * C + c) * S + s]);
    const count = values.length;
    let mu: number, variance: number;
    if (training) {
      mu = values.reduce((a, b) => a + b, 0) / count;
      variance = values.reduce((a, b) => a + (b - mu) ** 2, 0) / count;
      rm[c] = (1 - momentum) * runningMean[c] + momentum * mu;
      rv[c] = (1 - momentum) * runningVar[c] + momentum * variance * count / (count - 1);
    } else {
      mu = runningMean[c];
      variance = runningVar[c];
    }
    for (let n = 0; n < N; n++)
      for (let s = 0; s < S; s++) {
        const i = (n * C + c) * S + s;
        y[i] = gamma[c] * (x[i] - mu) / Math.sqrt(variance + eps) + beta[c];
      }
  }
  return { y, runningMean: rm, runningVar: rv };
}

/** Max over each window; positions outside the image are −∞ (never chosen). */
export function maxPool2dReference(x: Arr, [N, C, H, W]: readonly number[], kh: number, kw: number, sh: number, sw: number, ph: number, pw: number): Float64Array {
  const Ho = Math.floor((H + 2 * ph - kh) / sh) + 1;
  const Wo = Math.floor((W + 2 * pw - kw) / sw) + 1;
  const y = new Float64Array(N * C * Ho * Wo);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let oy = 0; oy < Ho; oy++)
        for (let ox = 0; ox < Wo; ox++) {
          let m = -Infinity;
          for (let i = 0; i < kh; i++)
            for (let j = 0; j < kw; j++) {
              const yy = oy * sh - ph + i;
              const xx = ox * sw - pw + j;
              if (yy >= 0 && yy < H && xx >= 0 && xx < W) m = Math.max(m, x[((n * C + c) * H + yy) * W + xx]);
            }
          y[((n * C + c) * Ho + oy) * Wo + ox] = m;
        }
  return y;
}

/** Global average pool: y[n,c] = (1/HW) Σ_{y,x} x[n,c,y,x]. */
export function avgPoolReference(x: Arr, [N, C, H, W]: readonly number[]): Float64Array {
  const y = new Float64Array(N * C);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++) {
      let s = 0;
      for (let i = 0; i < H; i++) for (let j = 0; j < W; j++) s += x[((n * C + c) * H + i) * W + j];
      y[n * C + c] = s / (H * W);
    }
  return y;
}

/** GeM: y[n,c] = ((1/HW) Σ max(x, eps)^p)^(1/p). */
export function gemReference(x: Arr, [N, C, H, W]: readonly number[], p: number, eps: number): Float64Array {
  const y = new Float64Array(N * C);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++) {
      let s = 0;
      for (let i = 0; i < H * W; i++) s += Math.pow(Math.max(x[(n * C + c) * H * W + i], eps), p);
      y[n * C + c] = Math.pow(s / (H * W), 1 / p);
    }
  return y;
}

/** softmax along the last axis (size D): e^{x_i} / Σ_j e^{x_j}, computed with the row max removed. */
export function softmaxReference(x: Arr, D: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let r = 0; r < x.length / D; r++) {
    const row = Array.from({ length: D }, (_, j) => x[r * D + j]);
    const m = Math.max(...row);
    const e = row.map((v) => Math.exp(v - m));
    const z = e.reduce((a, b) => a + b, 0);
    e.forEach((v, j) => (y[r * D + j] = v / z));
  }
  return y;
}

/** y = x / max(‖x‖₂, eps) along the last axis (size D). */
export function l2NormalizeReference(x: Arr, D: number, eps: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let r = 0; r < x.length / D; r++) {
    let s = 0;
    for (let j = 0; j < D; j++) s += x[r * D + j] * x[r * D + j];
    const d = Math.max(Math.sqrt(s), eps);
    for (let j = 0; j < D; j++) y[r * D + j] = x[r * D + j] / d;
  }
  return y;
}

/** Batched product over `batch` matrices: op(A_b) [M,K] · op(B_b) [K,N]; A_b stored [M,K] (or [K,M] when transA). */
export function bmmReference(a: Arr, b: Arr, batch: number, M: number, N: number, K: number, transA: boolean, transB: boolean): Float64Array {
  const y = new Float64Array(batch * M * N);
  for (let t = 0; t < batch; t++)
    for (let i = 0; i < M; i++)
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) {
          const av = transA ? a[t * M * K + k * M + i] : a[t * M * K + i * K + k];
          const bv = transB ? b[t * K * N + j * K + k] : b[t * K * N + k * N + j];
          s += av * bv;
        }
        y[t * M * N + i * N + j] = s;
      }
  return y;
}

/** Multi-index of flat position `flat` in a row-major `shape`. */
export function unravel(flat: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = flat % shape[d];
    flat = Math.floor(flat / shape[d]);
  }
  return idx;
}

/** Flat position of a multi-index in a row-major `shape`. */
export function ravel(idx: readonly number[], shape: readonly number[]): number {
  let flat = 0;
  for (let d = 0; d < shape.length; d++) flat = flat * shape[d] + idx[d];
  return flat;
}

/**
 * numpy broadcasting, literally: the output index is aligned to each input from the right, and an
 * input axis of size 1 reads index 0.
 */
export function broadcastReference(a: Arr, aShape: readonly number[], b: Arr, bShape: readonly number[],
  f: (x: number, y: number) => number): { y: Float64Array; shape: number[] } {
  const rank = Math.max(aShape.length, bShape.length);
  const pad = (s: readonly number[]) => [...new Array(rank - s.length).fill(1), ...s];
  const pa = pad(aShape), pb = pad(bShape);
  const shape = pa.map((d, i) => Math.max(d, pb[i]));
  const total = shape.reduce((x, y) => x * y, 1);
  const y = new Float64Array(total);
  for (let o = 0; o < total; o++) {
    const idx = unravel(o, shape);
    const ia = ravel(idx.map((v, i) => (pa[i] === 1 ? 0 : v)), pa);
    const ib = ravel(idx.map((v, i) => (pb[i] === 1 ? 0 : v)), pb);
    y[o] = f(a[ia], b[ib]);
  }
  return { y, shape };
}

/** Sum over `axis`, keeping it with size 1. */
export function sumReference(x: Arr, shape: readonly number[], axis: number): Float64Array {
  const outShape = shape.map((d, i) => (i === axis ? 1 : d));
  const y = new Float64Array(outShape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < x.length; i++) {
    const idx = unravel(i, shape);
    idx[axis] = 0;
    y[ravel(idx, outShape)] += x[i];
  }
  return y;
}

/** out[idx] = x[idx permuted back]: out.shape[i] = shape[order[i]]. */
export function permuteReference(x: Arr, shape: readonly number[], order: readonly number[]): Float64Array {
  const outShape = order.map((o) => shape[o]);
  const y = new Float64Array(x.length);
  for (let f = 0; f < x.length; f++) {
    const idx = unravel(f, outShape);
    const src = new Array<number>(shape.length);
    order.forEach((o, i) => (src[o] = idx[i]));
    y[f] = x[ravel(src, shape)];
  }
  return y;
}

/**
 * Adam (torch.optim.Adam with weight_decay λ) over the gradients of steps 1, 2, …: g ← g + λ θ,
 * m ← β1 m + (1 − β1) g, v ← β2 v + (1 − β2) g², θ ← θ − lr m̂ / (√v̂ + eps), m̂ = m / (1 − β1^t),
 * v̂ = v / (1 − β2^t). Returns θ, m and v after the last step.
 */
export function adamReference(theta0: Arr, grads: Arr[], lr: number, beta1: number, beta2: number, eps: number, weightDecay: number):
  { theta: Float64Array; m: Float64Array; v: Float64Array } {
  const theta = Float64Array.from(theta0), m = new Float64Array(theta.length), v = new Float64Array(theta.length);
  grads.forEach((grad, step) => {
    const t = step + 1;
    for (let i = 0; i < theta.length; i++) {
      const g = grad[i] + weightDecay * theta[i];
      m[i] = beta1 * m[i] + (1 - beta1) * g;
      v[i] = beta2 * v[i] + (1 - beta2) * g * g;
      theta[i] -= lr * (m[i] / (1 - beta1 ** t)) / (Math.sqrt(v[i] / (1 - beta2 ** t)) + eps);
    }
  });
  return { theta, m, v };
}

/** For logits x [rows, n] and targets t: losses[r] = −log(e^{x[r, t_r]} / Σ_k e^{x[r, k]}), grad = softmax(x_r) − onehot(t_r). */
export function crossEntropyReference(x: Arr, rows: number, n: number, t: Arr): { losses: Float64Array; grad: Float64Array } {
  const losses = new Float64Array(rows), grad = new Float64Array(rows * n);
  for (let r = 0; r < rows; r++) {
    let sum = 0;
    for (let k = 0; k < n; k++) sum += Math.exp(x[r * n + k]);
    losses[r] = -Math.log(Math.exp(x[r * n + t[r]]) / sum);
    for (let k = 0; k < n; k++) grad[r * n + k] = Math.exp(x[r * n + k]) / sum - (k === t[r] ? 1 : 0);
  }
  return { losses, grad };
}
