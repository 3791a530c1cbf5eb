/**
 * The inner pieces of exact k-NN, shared by the main thread and the worker threads (knn-worker.ts).
 *
 * Symbols: X [N, D] features (row-major), n[i] = ‖x_i‖², d(i, j) = n[i] + n[j] − 2 x_i·x_j (squared
 * Euclidean, clamped at 0). A block pair (I, J) with I ≤ J is the GEMM S = X[I] · X[J]ᵀ of at most
 * block × block entries; every entry feeds the bounded top-(k−1) heap of row a (and of row b when
 * I ≠ J, by symmetry), so each unordered pair is computed once and no N × N matrix ever exists.
 *
 * Heaps: for row r, kk = k − 1 slots at r·kk in (heapD, heapI), a max-heap on the key (d, j)
 * compared lexicographically (ties broken by the smaller index), root = the worst kept neighbour.
 * Self (j = i) never enters a heap; knn.ts puts it first in the final list.
 *
 * Same-camera penalty (optional; not in the paper): with camera ids c [N] and λ > 0 the key is
 * d(i, j) + λ·[c_i = c_j], so that images of other cameras come first among equally close ones.
 */
import type { Float } from '../core/gemm.ts';
import { kernels, type Buf } from '../core/backend.ts';

export interface BlockPair {
  i0: number;
  i1: number;
  j0: number;
  j1: number;
}

export const EMPTY_INDEX = 0x7fffffff;

/** Camera ids [N] and the penalty λ added to d(i, j) when c_i = c_j. */
export interface SameCameraPenalty {
  cams: Int32Array;
  penalty: number;
}

/** Fresh heaps for N rows of kk slots: every slot (+∞, EMPTY_INDEX), i.e. worse than any real entry. */
export function initHeaps(heapD: Float64Array, heapI: Int32Array): void {
  heapD.fill(Infinity);
  heapI.fill(EMPTY_INDEX);
}

/** Squared norms of the N rows of X. */
export function rowSquaredNorms(X: Float, N: number, D: number): Float64Array {
  const n = new Float64Array(N);
  for (let i = 0; i < N; i++) {
    let s = 0;
    for (let t = i * D, e = t + D; t < e; t++) s += X[t] * X[t];
    n[i] = s;
  }
  return n;
}

/** Offer (d, j) to the max-heap of kk slots at `base`; keeps the kk smallest keys (d, j). */
export function heapOffer(heapD: Float64Array, heapI: Int32Array, base: number, kk: number, d: number, j: number): void {
  const rd = heapD[base];
  if (d > rd || (d === rd && j >= heapI[base])) return;
  // Replace the root (the worst kept entry) and sift the new key down.
  let pos = 0;
  for (;;) {
    const l = 2 * pos + 1;
    if (l >= kk) break;
    let c = l;
    const r = l + 1;
    if (r < kk) {
      const dl = heapD[base + l], dr = heapD[base + r];
      if (dr > dl || (dr === dl && heapI[base + r] > heapI[base + l])) c = r;
    }
    const dc = heapD[base + c];
    if (dc > d || (dc === d && heapI[base + c] > j)) {
      heapD[base + pos] = dc;
      heapI[base + pos] = heapI[base + c];
      pos = c;
    } else break;
  }
  heapD[base + pos] = d;
  heapI[base + pos] = j;
}

/** All block pairs (I ≤ J) of an N-row problem cut into blocks of `block` rows. */
export function blockPairs(N: number, block: number): BlockPair[] {
  const pairs: BlockPair[] = [];
  for (let i0 = 0; i0 < N; i0 += block) {
    for (let j0 = i0; j0 < N; j0 += block) {
      pairs.push({ i0, i1: Math.min(N, i0 + block), j0, j1: Math.min(N, j0 + block) });
    }
  }
  return pairs;
}

/**
 * One block pair: S = X[i0:i1] · X[j0:j1]ᵀ by the active backend's GEMM into `scratch` (≥ block² values of X's type), then every
 * d(a, b) = n[a] + n[b] − 2·S[a, b] offered to row a's heap and, off the diagonal block, to row b's.
 */
export function processBlockPair(
  X: Buf, D: number, norms: Float64Array, p: BlockPair, kk: number,
  heapD: Float64Array, heapI: Int32Array, scratch: Float, sameCamera: SameCameraPenalty | null = null,
): void {
  const mI = p.i1 - p.i0;
  const mJ = p.j1 - p.j0;
  // C is exactly the block's product (beta = 0): written whole, so a device backend takes nothing up for it
  kernels.gemm(false, true, mI, mJ, D, 1, X, p.i0 * D, D, X, p.j0 * D, D, 0, scratch.subarray(0, mI * mJ), 0, mJ);
  if (kk === 0) return;
  const diagonal = p.i0 === p.j0;
  for (let a = 0; a < mI; a++) {
    const ia = p.i0 + a;
    const na = norms[ia];
    const baseA = ia * kk;
    const row = a * mJ;
    for (let b = 0; b < mJ; b++) {
      const jb = p.j0 + b;
      if (jb === ia) continue;
      let d = na + norms[jb] - 2 * scratch[row + b];
      if (d < 0) d = 0;
      if (sameCamera && sameCamera.cams[ia] === sameCamera.cams[jb]) d += sameCamera.penalty;
      // Fast reject against row a's current worst before the full heap step.
      if (d < heapD[baseA] || (d === heapD[baseA] && jb < heapI[baseA])) heapOffer(heapD, heapI, baseA, kk, d, jb);
      if (!diagonal) {
        const baseB = jb * kk;
        if (d < heapD[baseB] || (d === heapD[baseB] && ia < heapI[baseB])) heapOffer(heapD, heapI, baseB, kk, d, ia);
      }
    }
  }
}

/** GEMM scratch for one block pair, of X's type (so the wasm backend's float32 kernel can run). */
export function blockScratch(X: Float, block: number): Float {
  return X instanceof Float32Array ? new Float32Array(block * block) : new Float64Array(block * block);
}
