/**
 * Slow, obvious references for the attention modules: plain loops over every index, written from
 * the equations (not from the module code), used by spec/attention.test.ts on random shapes.
 * Arrays are flat row-major float64; x is [N, C, H, W].
 */

/** 1×1 conv: y[n, o, p] = b[o] + Σ_c w[o, c] x[n, c, p]. */
function conv1x1(x: Float64Array, N: number, C: number, P: number, w: Float64Array, O: number, b: Float64Array | null): Float64Array {
  const y = new Float64Array(N * O * P);
  for (let n = 0; n < N; n++)
    for (let o = 0; o < O; o++)
      for (let p = 0; p < P; p++) {
        let s = b ? b[o] : 0;
        for (let c = 0; c < C; c++) s += w[o * C + c] * x[(n * C + c) * P + p];
        y[(n * O + o) * P + p] = s;
      }
  return y;
}

/** HLA (contract op `hla`): logits = scale (q_i·k_j + q_i·pos_j), softmax over j, y_i = Σ_j attn v_j. */
export function hlaReference(x: Float64Array, [N, C, H, W]: number[], w: {
  wq: Float64Array; bq: Float64Array; wk: Float64Array; bk: Float64Array; wv: Float64Array; bv: Float64Array; relH: Float64Array; relW: Float64Array;
}, heads: number, scale: number): Float64Array {
  const P = H * W, d = C / heads;
  const q = conv1x1(x, N, C, P, w.wq, C, w.bq), k = conv1x1(x, N, C, P, w.wk, C, w.bk), v = conv1x1(x, N, C, P, w.wv, C, w.bv);
  const y = new Float64Array(N * C * P);
  for (let n = 0; n < N; n++)
    for (let h = 0; h < heads; h++)
      for (let i = 0; i < P; i++) {
        const logits = new Float64Array(P);
        for (let j = 0; j < P; j++) {
          const yy = Math.floor(j / W), xx = j % W;
          let qk = 0, qp = 0;
          for (let e = 0; e < d; e++) {
            const c = h * d + e;
            const qi = q[(n * C + c) * P + i];
            qk += qi * k[(n * C + c) * P + j];
            qp += qi * (w.relH[(h * d + e) * H + yy] + w.relW[(h * d + e) * W + xx]);
          }
          logits[j] = scale * (qk + qp);
        }
        const m = Math.max(...logits);
        let z = 0;
        for (let j = 0; j < P; j++) z += Math.exp(logits[j] - m);
        for (let e = 0; e < d; e++) {
          const c = h * d + e;
          let s = 0;
          for (let j = 0; j < P; j++) s += (Math.exp(logits[j] - m) / z) * v[(n * C + c) * P + j];
          y[(n * C + c) * P + i] = s;
        }
      }
  return y;
}

/** DLA (eqs. 4-6): q = Wq x + bq; s = Wk q; a = softmax_p(s); a /= eps + Σ_k a; y = x + Wv a. */
export function dlaReference(x: Float64Array, [N, C, H, W]: number[], wq: Float64Array, bq: Float64Array, wk: Float64Array, wv: Float64Array, ck: number, eps: number): Float64Array {
  const P = H * W;
  const q = conv1x1(x, N, C, P, wq, C, bq);
  const s = conv1x1(q, N, C, P, wk, ck, null);
  const a = new Float64Array(s.length);
  for (let n = 0; n < N; n++)
    for (let u = 0; u < ck; u++) {
      const o = (n * ck + u) * P;
      let m = -Infinity;
      for (let p = 0; p < P; p++) m = Math.max(m, s[o + p]);
      let z = 0;
      for (let p = 0; p < P; p++) z += Math.exp(s[o + p] - m);
      for (let p = 0; p < P; p++) a[o + p] = Math.exp(s[o + p] - m) / z;
    }
  for (let n = 0; n < N; n++)
    for (let p = 0; p < P; p++) {
      let t = 0;
      for (let u = 0; u < ck; u++) t += a[(n * ck + u) * P + p];
      for (let u = 0; u < ck; u++) a[(n * ck + u) * P + p] /= eps + t;
    }
  const out = conv1x1(a, N, ck, P, wv, C, null);
  for (let i = 0; i < out.length; i++) out[i] += x[i];
  return out;
}

/** PLA (eq. 3) with a 3×3 zero-padded conv w [O, C, 3, 3] (O = C or 1), b [O]. */
export function plaReference(x: Float64Array, [N, C, H, W]: number[], w: Float64Array, b: Float64Array, O: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let n = 0; n < N; n++)
    for (let yy = 0; yy < H; yy++)
      for (let xx = 0; xx < W; xx++)
        for (let o = 0; o < O; o++) {
          let s = b[o];
          for (let c = 0; c < C; c++)
            for (let i = 0; i < 3; i++)
              for (let j = 0; j < 3; j++) {
                const sy = yy + i - 1, sx = xx + j - 1;
                if (sy >= 0 && sy < H && sx >= 0 && sx < W) s += w[((o * C + c) * 3 + i) * 3 + j] * x[((n * C + c) * H + sy) * W + sx];
              }
          const weight = 1 / (1 + Math.exp(-s));
          for (const c of O === 1 ? [...Array(C).keys()] : [o]) {
            const idx = ((n * C + c) * H + yy) * W + xx;
            y[idx] = x[idx] * weight;
          }
        }
  return y;
}
