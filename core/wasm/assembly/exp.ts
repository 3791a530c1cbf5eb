/**
 * e^t in WebAssembly SIMD, the operations of V8's Math.exp (fdlibm's e_exp.c), so that the wasm
 * softmax (./softmax.ts) and sigmoid (./unary.ts) give the cpu kernels' numbers bit for bit;
 * spec/kernels/wasm-exp.test.ts holds it to Math.exp.
 */

// fdlibm's e_exp.c constants
const LN2_HI: f64 = 6.93147180369123816490e-01;
const LN2_LO: f64 = 1.90821492927058770002e-10;
const INV_LN2: f64 = 1.44269504088896338700e+00;
const P1: f64 = 1.66666666666666019037e-01;
const P2: f64 = -2.77777777770155933842e-03;
const P3: f64 = 6.61375632143793436117e-05;
const P4: f64 = -1.65339022054652515390e-06;
const P5: f64 = 4.13813679705723846039e-08;
const TWO_M1000: f64 = 9.33263618503218878990e-302;
const UNDERFLOW: f64 = -7.45133219101941108420e+02;
const OVERFLOW: f64 = 7.09782712893383973096e+02;
/** fdlibm's exp answers e itself at t = 1 (its reduction would miss the last bit there). */
const E: f64 = 2.718281828459045;
/** fdlibm's branches test the high word of |t|: > 0x3fd62e42, < 0x3ff0a2b2, < 0x3e300000. */
const HALF_LN2_ABOVE: f64 = 0.3465735912322998;
const THREE_HALVES_LN2: f64 = 1.0397205352783203;
const TINY: f64 = 3.725290298461914e-9;

/**
 * e^t of each lane of the f64x2 t: fdlibm's exp (V8's Math.exp), its branches as lane selects.
 * t = k ln 2 + r with |r| ≤ ln 2 / 2 (k = ±1 for |t| < 1.5 ln 2, 0 for |t| ≤ 0.5 ln 2), e^r by its
 * rational approximation, then the exponent; 1 + t for |t| < 2^-28, e exactly at t = 1, 0 below the
 * underflow threshold (−∞ included), +∞ above the overflow one.
 */
@inline export function exp(t: v128): v128 {
  const a = f64x2.abs(t);
  const negative = f64x2.lt(t, f64x2.splat(0));
  const sign = v128.bitselect(f64x2.splat(-1), f64x2.splat(1), negative);
  let k = f64x2.trunc(f64x2.add(f64x2.mul(t, f64x2.splat(INV_LN2)), f64x2.mul(sign, f64x2.splat(0.5))));
  k = v128.bitselect(sign, k, f64x2.lt(a, f64x2.splat(THREE_HALVES_LN2)));
  k = v128.bitselect(k, f64x2.splat(0), f64x2.ge(a, f64x2.splat(HALF_LN2_ABOVE)));
  const high = f64x2.sub(t, f64x2.mul(k, f64x2.splat(LN2_HI)));
  const low = f64x2.mul(k, f64x2.splat(LN2_LO));
  const x = f64x2.sub(high, low);
  const xx = f64x2.mul(x, x);
  let p = f64x2.add(f64x2.splat(P4), f64x2.mul(xx, f64x2.splat(P5)));
  p = f64x2.add(f64x2.splat(P3), f64x2.mul(xx, p));
  p = f64x2.add(f64x2.splat(P2), f64x2.mul(xx, p));
  p = f64x2.add(f64x2.splat(P1), f64x2.mul(xx, p));
  const c = f64x2.sub(x, f64x2.mul(xx, p));
  const q = f64x2.div(f64x2.mul(x, c), f64x2.sub(f64x2.splat(2), c));
  const y = f64x2.sub(f64x2.splat(1), f64x2.sub(f64x2.sub(low, q), high));
  // × 2^k: as 2^(k + 1000) · 2^-1000 where 2^k is below the normal float64s, as 2^1023 · 2 at k = 1024
  const deep = f64x2.lt(k, f64x2.splat(-1021));
  const top = f64x2.eq(k, f64x2.splat(1024));
  let e = v128.bitselect(f64x2.add(k, f64x2.splat(1000)), k, deep);
  e = v128.bitselect(f64x2.splat(1023), e, top);
  const twoToE = i64x2.shl(i64x2.add(i64x2.extend_low_i32x4_s(i32x4.trunc_sat_f64x2_s_zero(e)), i64x2.splat(1023)), 52);
  let r = f64x2.mul(y, twoToE);
  r = v128.bitselect(f64x2.mul(r, f64x2.splat(TWO_M1000)), r, deep);
  r = v128.bitselect(f64x2.add(r, r), r, top);
  r = v128.bitselect(f64x2.add(f64x2.splat(1), t), r, f64x2.lt(a, f64x2.splat(TINY)));
  r = v128.bitselect(f64x2.splat(E), r, f64x2.eq(t, f64x2.splat(1)));
  r = v128.bitselect(f64x2.splat(Infinity), r, f64x2.gt(t, f64x2.splat(OVERFLOW)));
  return v128.bitselect(f64x2.splat(0), r, f64x2.lt(t, f64x2.splat(UNDERFLOW)));
}

/** e^t of one float64, the same numbers as the vector lanes. */
@inline export function expOne(t: f64): f64 {
  return f64x2.extract_lane(exp(f64x2.splat(t)), 0);
}

/** For the spec: e^t of n float64 values at t into out (the kernel's exponential, checked against Math.exp). */
export function expF64(t: usize, out: usize, n: i32): void {
  for (let i = 0; i < n; i++) store<f64>(out + (<usize>i << 3), expOne(load<f64>(t + (<usize>i << 3))));
}
