/**
 * f32x4 values in float64 arithmetic: a vector's low and high halves as f64x2, two f64x2 rounded
 * back into one f32x4, and the sum of two f64x2 accumulators' four lanes.
 */

@inline export function lo(v: v128): v128 {
  return f64x2.promote_low_f32x4(v);
}
@inline export function hi(v: v128): v128 {
  return f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 2, 3));
}
/** The f32x4 of two f64x2 (each rounded to f32). */
@inline export function join(a: v128, b: v128): v128 {
  return v128.shuffle<f32>(f32x4.demote_f64x2_zero(a), f32x4.demote_f64x2_zero(b), 0, 1, 4, 5);
}
@inline export function total(a: v128, b: v128): f64 {
  const s = f64x2.add(a, b);
  return f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1);
}
