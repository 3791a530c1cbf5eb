/**
 * Pseudo-labels from a clustering: clusters renumbered 0..K−1 (ascending by their raw label),
 * outliers (raw label −1) dropped for the epoch, and the figures a training log reports.
 *
 * Input  raw labels [N] (DBSCAN's: −1 noise, clusters any non-negative integers).
 * Output labels [N] (−1 outliers, else 0..K−1), K, outliers, kept [N − outliers] (indices of the
 *        samples trained on this epoch), sizes [K], sizeHistogram (cluster size → number of clusters).
 */
export interface PseudoLabels {
  labels: Int32Array;
  K: number;
  outliers: number;
  kept: Int32Array;
  sizes: Int32Array;
  sizeHistogram: Map<number, number>;
}

export function pseudoLabels(raw: ArrayLike<number>): PseudoLabels {
  const N = raw.length;
  const distinct = new Set<number>();
  for (let i = 0; i < N; i++) {
    const r = raw[i];
    if (!Number.isInteger(r) || r < -1) throw new Error(`pseudoLabels: label[${i}] = ${r}; expected −1 (outlier) or a non-negative integer`);
    if (r >= 0) distinct.add(r);
  }
  const order = [...distinct].sort((a, b) => a - b);
  const newId = new Map(order.map((r, t) => [r, t]));
  const K = order.length;
  const labels = new Int32Array(N);
  const sizes = new Int32Array(K);
  const kept: number[] = [];
  for (let i = 0; i < N; i++) {
    const t = raw[i] < 0 ? -1 : newId.get(raw[i])!;
    labels[i] = t;
    if (t >= 0) { sizes[t]++; kept.push(i); }
  }
  const sizeHistogram = new Map<number, number>();
  for (const s of [...sizes].sort((a, b) => a - b)) sizeHistogram.set(s, (sizeHistogram.get(s) ?? 0) + 1);
  return { labels, K, outliers: N - kept.length, kept: Int32Array.from(kept), sizes, sizeHistogram };
}
