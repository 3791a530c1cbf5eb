/**
 * P × K sampler over pseudo-labels (Cluster Contrast's RandomMultipleGallerySampler), seeded.
 *
 * One epoch = one group per cluster, clusters in random order. A group is an anchor (a random
 * member of the cluster) followed by K − 1 members whose camera differs from the anchor's; when
 * the cluster has no such member, K − 1 other members of any camera; a cluster with no other
 * member yields the anchor alone. Draws are without replacement when at least K candidates
 * exist, else with replacement (the original's rule). Batches are the groups' indices in order,
 * cut into P·K (the last, incomplete batch is dropped, as the original's loader does).
 *
 * Inputs: labels [N] (pseudo-labels, −1 outliers never sampled), cams [N], K instances per id.
 */

/** What the sampler needs of the project's Rng (core/random.ts). */
export interface SamplerRng {
  int(n: number): number;
  shuffle<T>(a: T[]): T[];
}

export class PKSampler {
  /** members[c]: dataset indices of cluster c, ascending. */
  readonly members: number[][];

  constructor(labels: ArrayLike<number>, private readonly cams: ArrayLike<number>, readonly K: number) {
    if (labels.length !== cams.length) throw new Error(`PKSampler: ${labels.length} labels but ${cams.length} cameras`);
    if (!Number.isInteger(K) || K < 1) throw new Error(`PKSampler: K = ${K} instances per identity must be an integer ≥ 1`);
    const byCluster = new Map<number, number[]>();
    for (let i = 0; i < labels.length; i++) {
      const c = labels[i];
      if (c < 0) continue;
      if (!byCluster.has(c)) byCluster.set(c, []);
      byCluster.get(c)!.push(i);
    }
    this.members = [...byCluster.keys()].sort((a, b) => a - b).map((c) => byCluster.get(c)!);
    if (this.members.length === 0) throw new Error('PKSampler: no sample has a pseudo-label (all outliers)');
  }

  /** n draws from `pool`: without replacement when pool.length ≥ K, else with replacement. */
  private draw(pool: number[], n: number, rng: SamplerRng): number[] {
    if (pool.length >= this.K) {
      const a = [...pool];
      // Partial Fisher–Yates: the first n of a random permutation.
      for (let t = 0; t < n; t++) {
        const s = t + rng.int(a.length - t);
        [a[t], a[s]] = [a[s], a[t]];
      }
      return a.slice(0, n);
    }
    return Array.from({ length: n }, () => pool[rng.int(pool.length)]);
  }

  /** One group per cluster, clusters in random order. */
  epoch(rng: SamplerRng): number[][] {
    const order = rng.shuffle(Array.from(this.members.keys()));
    return order.map((c) => {
      const m = this.members[c];
      const anchor = m[rng.int(m.length)];
      // Prefer members seen by other cameras than the anchor's.
      const otherCams = m.filter((i) => this.cams[i] !== this.cams[anchor]);
      if (otherCams.length > 0) return [anchor, ...this.draw(otherCams, this.K - 1, rng)];
      const others = m.filter((i) => i !== anchor);
      if (others.length === 0) return [anchor];
      return [anchor, ...this.draw(others, this.K - 1, rng)];
    });
  }

  /** The epoch's indices cut into batches of P·K. */
  batches(rng: SamplerRng, P: number): number[][] {
    const flat = this.epoch(rng).flat();
    const size = P * this.K;
    const out: number[][] = [];
    for (let s = 0; s + size <= flat.length; s += size) out.push(flat.slice(s, s + size));
    return out;
  }
}
