/** cluster/camera-centre.ts against its definition: x_i − mean of camera(i), then unit length. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cameraCentred } from '../cluster/camera-centre.ts';
import { TestRng } from './reference/cluster-reference.ts';

const cases = fc.record({ N: fc.integer({ min: 1, max: 40 }), D: fc.integer({ min: 1, max: 12 }), cams: fc.integer({ min: 1, max: 5 }), seed: fc.nat() });

function make({ N, D, cams, seed }: { N: number; D: number; cams: number; seed: number }) {
  const rng = new TestRng(seed);
  const f = Float32Array.from({ length: N * D }, () => rng.normal());
  const cam = Array.from({ length: N }, () => rng.int(cams));
  return { f, cam };
}

/** The obvious transcription, in float64. */
function reference(f: Float32Array, N: number, D: number, cam: number[]): number[][] {
  return Array.from({ length: N }, (_, i) => {
    const same = cam.map((c, j) => (c === cam[i] ? j : -1)).filter((j) => j >= 0);
    const x = Array.from({ length: D }, (_, d) => f[i * D + d] - same.reduce((s, j) => s + f[j * D + d], 0) / same.length);
    const norm = Math.hypot(...x);
    return x.map((v) => (norm > 0 ? v / norm : 0));
  });
}

describe('camera-centred features', () => {
  it('equal the definition', () => {
    fc.assert(fc.property(cases, (c) => {
      const { f, cam } = make(c);
      const got = cameraCentred(f, c.N, c.D, cam);
      const want = reference(f, c.N, c.D, cam);
      for (let i = 0; i < c.N; i++) for (let d = 0; d < c.D; d++) expect(got[i * c.D + d]).toBeCloseTo(want[i][d], 5);
    }));
  });

  it('do not change when one vector is added to every feature of a camera', () => {
    fc.assert(fc.property(cases, fc.nat(), (c, s) => {
      const { f, cam } = make(c);
      const rng = new TestRng(s);
      const shift = Array.from({ length: c.cams }, () => Array.from({ length: c.D }, () => rng.normal()));
      const moved = f.map((v, k) => v + shift[cam[Math.floor(k / c.D)]][k % c.D]);
      const a = cameraCentred(f, c.N, c.D, cam);
      const b = cameraCentred(moved, c.N, c.D, cam);
      // rows that are (numerically) zero before normalising have no direction to compare
      const want = reference(f, c.N, c.D, cam);
      for (let i = 0; i < c.N; i++) {
        if (want[i].every((v) => v === 0) || cam.filter((x) => x === cam[i]).length === 1) continue;
        for (let d = 0; d < c.D; d++) expect(b[i * c.D + d]).toBeCloseTo(a[i * c.D + d], 3);
      }
    }));
  });

  it('names the mismatched input', () => {
    expect(() => cameraCentred(new Float32Array(6), 2, 4, [0, 1])).toThrow(/N x D = 2 x 4/);
    expect(() => cameraCentred(new Float32Array(8), 2, 4, [0])).toThrow(/1 camera ids for 2/);
  });
});
