/**
 * The contract's rule for comparing DBSCAN labelings (conformance README, op `dbscan`): labels are
 * equal up to renumbering; noise (−1) and core points must match exactly; a border point may take
 * any cluster that has a core point within eps of it.
 *
 * Input: got/want labels [N], the dense distances [N, N], eps, min_samples.
 * Output: null when the labelings agree, else the first disagreement in words.
 */
export function dbscanDisagreement(
  got: ArrayLike<number>, want: ArrayLike<number>, dist: ArrayLike<number>, N: number, eps: number, minSamples: number,
): string | null {
  if (got.length !== N || want.length !== N) return `label counts ${got.length} / ${want.length}, expected ${N}`;
  const core = new Uint8Array(N);
  for (let i = 0; i < N; i++) {
    let n = 0;
    for (let j = 0; j < N; j++) if (dist[i * N + j] <= eps) n++;
    if (n >= minSamples) core[i] = 1;
  }
  const gotToWant = new Map<number, number>();
  const wantToGot = new Map<number, number>();
  for (let i = 0; i < N; i++) {
    if ((got[i] === -1) !== (want[i] === -1)) return `point ${i}: got label ${got[i]}, want ${want[i]} (noise must match exactly)`;
    if (!core[i] || want[i] === -1) continue;
    if ((gotToWant.get(got[i]) ?? want[i]) !== want[i] || (wantToGot.get(want[i]) ?? got[i]) !== got[i]) {
      return `core point ${i}: got cluster ${got[i]}, want ${want[i]}, not one renumbering of the other`;
    }
    gotToWant.set(got[i], want[i]);
    wantToGot.set(want[i], got[i]);
  }
  for (let i = 0; i < N; i++) {
    if (core[i] || got[i] === -1) continue;
    let ok = false;
    for (let j = 0; j < N && !ok; j++) ok = core[j] === 1 && got[j] === got[i] && dist[i * N + j] <= eps;
    if (!ok) return `border point ${i}: got cluster ${got[i]}, which has no core point within eps`;
  }
  return null;
}
