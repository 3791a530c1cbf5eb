/**
 * The machine's ceiling for the GEMM's micro-kernel: 12 independent f32x4 relaxed multiply-add
 * chains, as the 6 x 8 tile issues them (gemm.ts), with no memory traffic. `npm run bench -- core`
 * times it in the same turns as the GEMMs and reports each as a share of it: 8 FLOP per
 * multiply-add, 96 per iteration.
 */
export function multiplyAddPeak(iterations: i32): f32 {
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0), c3 = f32x4.splat(0);
  let c4 = f32x4.splat(0), c5 = f32x4.splat(0), c6 = f32x4.splat(0), c7 = f32x4.splat(0);
  let c8 = f32x4.splat(0), c9 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  const a = f32x4.splat(1.0000001), b = f32x4.splat(0.9999999);
  for (let i = 0; i < iterations; i++) {
    c0 = f32x4.relaxed_madd(a, b, c0); c1 = f32x4.relaxed_madd(a, b, c1); c2 = f32x4.relaxed_madd(a, b, c2);
    c3 = f32x4.relaxed_madd(a, b, c3); c4 = f32x4.relaxed_madd(a, b, c4); c5 = f32x4.relaxed_madd(a, b, c5);
    c6 = f32x4.relaxed_madd(a, b, c6); c7 = f32x4.relaxed_madd(a, b, c7); c8 = f32x4.relaxed_madd(a, b, c8);
    c9 = f32x4.relaxed_madd(a, b, c9); c10 = f32x4.relaxed_madd(a, b, c10); c11 = f32x4.relaxed_madd(a, b, c11);
  }
  // the chains' sum, so that none of them is dead code
  const s = f32x4.add(f32x4.add(f32x4.add(c0, c1), f32x4.add(c2, c3)), f32x4.add(f32x4.add(c4, c5), f32x4.add(c6, c7)));
  return f32x4.extract_lane(f32x4.add(s, f32x4.add(f32x4.add(c8, c9), f32x4.add(c10, c11))), 0);
}
