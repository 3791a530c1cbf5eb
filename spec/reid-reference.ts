/**
 * Slow, obvious references for reid/eval: the Market-1501 protocol written the way the
 * community's eval_market1501 reads (argsort the whole row, drop same pid + same camera,
 * cumulative sums), and squared Euclidean distances of normalised rows by a triple loop.
 */

export function evalMarketReference(
  dist: ArrayLike<number>, Q: number, G: number,
  qPids: ArrayLike<number>, gPids: ArrayLike<number>, qCams: ArrayLike<number>, gCams: ArrayLike<number>, maxRank: number,
): { mAP: number; cmc: number[]; validQueries: number } {
  const cmc = new Array(maxRank).fill(0);
  let apSum = 0;
  let valid = 0;
  for (let q = 0; q < Q; q++) {
    const order = Array.from({ length: G }, (_, g) => g).sort((a, b) => dist[q * G + a] - dist[q * G + b] || a - b);
    const kept = order.filter((g) => !(gPids[g] === qPids[q] && gCams[g] === qCams[q]));
    const hits = kept.map((g) => (gPids[g] === qPids[q] ? 1 : 0));
    const numRel = hits.reduce((a: number, b) => a + b, 0);
    if (numRel === 0) continue;
    valid++;
    const first = hits.indexOf(1);
    for (let k = 0; k < maxRank; k++) if (first <= k) cmc[k]++;
    let cum = 0;
    let ap = 0;
    hits.forEach((h, i) => {
      cum += h;
      if (h) ap += cum / (i + 1);
    });
    apSum += ap / numRel;
  }
  return { mAP: valid ? apSum / valid : 0, cmc: cmc.map((c) => (valid ? c / valid : 0)), validQueries: valid };
}

export function squaredDistanceReference(qf: ArrayLike<number>, Q: number, gf: ArrayLike<number>, G: number, D: number): Float64Array {
  const norm = (x: ArrayLike<number>, i: number) => {
    let s = 0;
    for (let k = 0; k < D; k++) s += x[i * D + k] ** 2;
    return Math.max(Math.sqrt(s), 1e-12);
  };
  const out = new Float64Array(Q * G);
  for (let q = 0; q < Q; q++) {
    for (let g = 0; g < G; g++) {
      let s = 0;
      for (let k = 0; k < D; k++) s += (qf[q * D + k] / norm(qf, q) - gf[g * D + k] / norm(gf, g)) ** 2;
      out[q * G + g] = s;
    }
  }
  return out;
}
