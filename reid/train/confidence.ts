/**
 * Mean and confidence interval of a few numbers (one per seed), by Student's t-distribution.
 *
 * For values x_1..x_n (n ≥ 2):
 *   mean  x̄ = (1/n) Σ x_i
 *   s     = √( Σ (x_i − x̄)² / (n − 1) )              (sample standard deviation)
 *   half  = t_{1−α/2, n−1} · s / √n                  (α = 0.05 for a 95 % interval)
 *   interval [x̄ − half, x̄ + half]
 * with t_{p, ν} the p-quantile of Student's t with ν degrees of freedom (e.g. t_{0.975, 4} = 2.776
 * for 5 seeds). This assumes the per-seed results are independent draws from a normal
 * distribution; with 5 seeds that is a working assumption, not a checked fact. With n = 1 there is
 * no interval (half = null).
 *
 * The quantile is the root of F_ν(t) = p, with F_ν from the regularised incomplete beta function:
 *   F_ν(t) = 1 − ½ I_{ν/(ν+t²)}(ν/2, ½)  for t ≥ 0,
 * I evaluated by its continued fraction (Numerical Recipes §6.4) and the root found by bisection
 * to double precision.
 */

/** ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms; relative error about 1e-15). */
export function logGamma(x: number): number {
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  x -= 1;
  let a = c[0];
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += c[i] / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction of the incomplete beta function (modified Lentz). */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1, d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d; if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c; if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d; h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d; if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c; if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-16) break;
  }
  return h;
}

/** Regularised incomplete beta I_x(a, b), x in [0, 1]. */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  return x < (a + 1) / (a + b + 2) ? (front * betaContinuedFraction(a, b, x)) / a : 1 - (front * betaContinuedFraction(b, a, 1 - x)) / b;
}

/** Student's t cumulative distribution F_ν(t). */
export function studentTCdf(t: number, df: number): number {
  const tail = 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/** The p-quantile of Student's t with `df` degrees of freedom (p in (0, 1), df > 0). */
export function studentTQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1)) throw new Error(`studentTQuantile: p = ${p} must lie in (0, 1)`);
  if (!(df > 0 && Number.isFinite(df))) throw new Error(`studentTQuantile: df = ${df} must be a positive number`);
  if (p < 0.5) return -studentTQuantile(1 - p, df);
  if (p === 0.5) return 0;
  let lo = 0, hi = 1;
  while (studentTCdf(hi, df) < p) { lo = hi; hi *= 2; }
  for (let i = 0; i < 200 && hi - lo > 1e-15 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (studentTCdf(mid, df) < p) lo = mid; else hi = mid;
  }
  return (lo + hi) / 2;
}

export interface Interval {
  n: number;
  mean: number;
  /** Sample standard deviation (n − 1 in the denominator); null for n = 1. */
  sd: number | null;
  /** Half-width t_{1−α/2, n−1} · s / √n; null for n = 1. */
  half: number | null;
  lo: number | null;
  hi: number | null;
  level: number;
}

/** Mean and `level` (default 0.95) t-interval of `values` (at least one, all finite). */
export function meanInterval(values: readonly number[], level = 0.95): Interval {
  const n = values.length;
  if (n === 0) throw new Error('meanInterval: no values');
  if (!values.every(Number.isFinite)) throw new Error(`meanInterval: non-finite value in [${values.join(', ')}]`);
  if (!(level > 0 && level < 1)) throw new Error(`meanInterval: level ${level} must lie in (0, 1)`);
  const mean = values.reduce((a, v) => a + v, 0) / n;
  if (n === 1) return { n, mean, sd: null, half: null, lo: null, hi: null, level };
  const sd = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1));
  const half = (studentTQuantile(1 - (1 - level) / 2, n - 1) * sd) / Math.sqrt(n);
  return { n, mean, sd, half, lo: mean - half, hi: mean + half, level };
}

/** The formula, for printed tables. */
export const INTERVAL_FORMULA = 'mean ± t(0.975, n−1) · s / √n, s the sample standard deviation over the n seeds';

export interface DifferenceInterval {
  /** mean(a) − mean(b). */
  diff: number;
  /** Half-width of the interval (Welch); null when either side has fewer than 2 values or both are constant. */
  half: number | null;
  lo: number | null;
  hi: number | null;
  /** Welch–Satterthwaite degrees of freedom. */
  df: number | null;
}

/**
 * Welch's t-interval for the difference of two means (unequal variances, independent samples):
 *   d = x̄_a − x̄_b,  se² = s_a²/n_a + s_b²/n_b,
 *   ν = se⁴ / ( (s_a²/n_a)²/(n_a−1) + (s_b²/n_b)²/(n_b−1) )     (Welch–Satterthwaite)
 *   d ± t_{1−α/2, ν} · se
 */
export function differenceInterval(a: readonly number[], b: readonly number[], level = 0.95): DifferenceInterval {
  const A = meanInterval(a, level), B = meanInterval(b, level);
  const diff = A.mean - B.mean;
  if (A.sd === null || B.sd === null) return { diff, half: null, lo: null, hi: null, df: null };
  const va = (A.sd * A.sd) / A.n, vb = (B.sd * B.sd) / B.n;
  const se2 = va + vb;
  if (se2 === 0) return { diff, half: 0, lo: diff, hi: diff, df: null };
  const df = (se2 * se2) / ((va * va) / (A.n - 1) + (vb * vb) / (B.n - 1));
  const half = studentTQuantile(1 - (1 - level) / 2, df) * Math.sqrt(se2);
  return { diff, half, lo: diff - half, hi: diff + half, df };
}
