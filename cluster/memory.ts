/**
 * The memory dictionary: one L2-normalised row per pseudo-identity (cluster), the "centroids" of
 * ClusterNCE (paper eq. 1). Built each epoch after clustering; updated after every optimiser step.
 *
 * Symbols: M [K, D] memory rows, f [B, D] L2-normalised batch features, t [B] their cluster ids,
 * momentum μ weighting the old row.
 * Init   'random'   (the paper): m_k = one seeded random member of cluster k, normalised.
 *        'centroid' (Cluster Contrast's code): m_k = normalised mean of cluster k's features.
 * Update (the contract's memory_update):
 *        'momentum' (contract mode "centroid"): for each sample in batch order, m[t] ← μ·m[t] + (1−μ)·f, renormalise.
 *        'hard'     (the paper's batch-hard): for each cluster t in the batch, take its sample with the
 *                   lowest f·m[t] (the hardest; the first on ties) and apply the same update with it.
 * The update is its own step (ClusterMemory.update), called after backward, never inside it; it is a
 * kernel of the active backend (core/kernels/memory.ts), so on a device backend the rows stay there.
 */
import { kernels } from '../core/backend.ts';
import type { Float } from '../core/gemm.ts';
import { normalizeRowInPlace } from '../core/rows.ts';
import { TensorStorage } from '../core/tensor-storage.ts';
import { clusterIds } from './cluster-ids.ts';

export type MemoryInit = 'random' | 'centroid';
export type MemoryUpdateMode = 'hard' | 'momentum';

/** What init 'random' needs of the project's Rng (core/random.ts). */
export interface IntSource {
  int(n: number): number;
}

/** The contract's memory_update, in place on M [K, D] (the kernel: core/kernels/memory.ts). */
export function memoryUpdate(M: Float | TensorStorage, K: number, D: number, f: Float | TensorStorage, B: number,
  targets: ArrayLike<number> | TensorStorage, momentum: number, mode: MemoryUpdateMode): void {
  if (M.length !== K * D) throw new Error(`memoryUpdate: memory has ${M.length} values, expected K·D = ${K}·${D}`);
  if (f.length !== B * D) throw new Error(`memoryUpdate: features have ${f.length} values, expected B·D = ${B}·${D}`);
  if (!(momentum >= 0 && momentum <= 1)) throw new Error(`memoryUpdate: momentum = ${momentum} must be in [0, 1]`);
  if (mode !== 'hard' && mode !== 'momentum') throw new Error(`memoryUpdate: mode '${mode}' is not 'hard' or 'momentum'`);
  const t = clusterIds(targets, B, K, 'memoryUpdate');
  kernels.memoryUpdate(D, B, momentum, mode === 'hard', M, f, t);
}

export class ClusterMemory {
  private constructor(
    readonly K: number,
    readonly D: number,
    /** [K, D] unit rows, where the active backend keeps them (on a device backend: on the device). */
    readonly rows: TensorStorage,
    readonly mode: MemoryUpdateMode,
    readonly momentum: number,
  ) {}

  /**
   * Build from all N features [N, D] and their pseudo-labels (−1 outliers are skipped, clusters 0..K−1).
   * `rng` picks the member for init 'random'; rows are Float32Array unless `float64`.
   */
  static init(
    features: Float, N: number, D: number, labels: ArrayLike<number>, K: number,
    opts: { init: MemoryInit; mode: MemoryUpdateMode; momentum: number; rng?: IntSource; float64?: boolean },
  ): ClusterMemory {
    if (features.length !== N * D) throw new Error(`ClusterMemory.init: features have ${features.length} values, expected N·D = ${N}·${D}`);
    if (labels.length !== N) throw new Error(`ClusterMemory.init: ${labels.length} labels for ${N} features`);
    const members: number[][] = Array.from({ length: K }, () => []);
    for (let i = 0; i < N; i++) {
      const t = labels[i];
      if (t === -1) continue;
      if (!Number.isInteger(t) || t < 0 || t >= K) throw new Error(`ClusterMemory.init: label[${i}] = ${t} is not −1 or in [0, K = ${K})`);
      members[t].push(i);
    }
    const rows = opts.float64 ? new Float64Array(K * D) : new Float32Array(K * D);
    for (let t = 0; t < K; t++) {
      const m = members[t];
      if (m.length === 0) throw new Error(`ClusterMemory.init: cluster ${t} has no member`);
      if (opts.init === 'random') {
        if (!opts.rng) throw new Error(`ClusterMemory.init: init 'random' needs an rng`);
        const i = m[opts.rng.int(m.length)];
        for (let d = 0; d < D; d++) rows[t * D + d] = features[i * D + d];
      } else if (opts.init === 'centroid') {
        for (const i of m) for (let d = 0; d < D; d++) rows[t * D + d] += features[i * D + d];
      } else throw new Error(`ClusterMemory.init: init '${opts.init}' is not 'random' or 'centroid'`);
      // Normalising the sum is normalising the mean.
      normalizeRowInPlace(rows, t * D, D);
    }
    return new ClusterMemory(K, D, new TensorStorage(rows), opts.mode, opts.momentum);
  }

  /** The memory step after backward: features [B, D] (L2-normalised, detached) with their cluster ids. */
  update(features: Float | TensorStorage, targets: ArrayLike<number> | TensorStorage): void {
    memoryUpdate(this.rows, this.K, this.D, features, targets.length, targets, this.momentum, this.mode);
  }
}
