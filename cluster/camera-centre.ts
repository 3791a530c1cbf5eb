/**
 * Camera-centred features: each camera's mean feature subtracted from its images' features, each
 * row L2-normalised again. What every image of one camera shares (its background, its lighting) is
 * removed before the neighbours are searched, so that clusters follow people rather than cameras.
 * Not in the paper: an option of this project (`clusterOn: 'camera-centred'`, README "Results").
 *
 * Input  f [N, D] (row-major), cams [N] camera ids. Output a new [N, D] array; f is not changed.
 */
import { normalizeRowInPlace } from '../core/rows.ts';

export function cameraCentred(f: Float32Array, N: number, D: number, cams: ArrayLike<number>): Float32Array {
  if (f.length !== N * D) throw new Error(`cameraCentred: features have ${f.length} values, expected N x D = ${N} x ${D}`);
  if (cams.length !== N) throw new Error(`cameraCentred: ${cams.length} camera ids for ${N} features`);
  const sums = new Map<number, Float64Array>();
  const counts = new Map<number, number>();
  for (let i = 0; i < N; i++) {
    let s = sums.get(cams[i]);
    if (!s) sums.set(cams[i], (s = new Float64Array(D)));
    counts.set(cams[i], (counts.get(cams[i]) ?? 0) + 1);
    for (let d = 0; d < D; d++) s[d] += f[i * D + d];
  }
  const out = new Float32Array(N * D);
  const row = new Float64Array(D);
  for (let i = 0; i < N; i++) {
    const s = sums.get(cams[i])!;
    const n = counts.get(cams[i])!;
    for (let d = 0; d < D; d++) row[d] = f[i * D + d] - s[d] / n;
    // an image identical to its camera's mean (e.g. a camera with one image) keeps a zero row
    normalizeRowInPlace(row, 0, D);
    out.set(row, i * D);
  }
  return out;
}
