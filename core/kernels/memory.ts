/**
 * The cpu kernel of the memory update (the definition other backends are checked against;
 * cluster/memory.ts holds the memory dictionary and its equations): the contract's memory_update,
 * in place on the memory M [K, D] (unit rows), given L2-normalised batch features f [B, D], their
 * cluster ids t [B] (exact integers held as values) and the momentum μ weighting the old row.
 *
 *   step(k, f_b):  m_k ← μ m_k + (1 − μ) f_b,  then m_k ← m_k / max(‖m_k‖, eps)
 *   momentum:      step(t_b, f_b) for every b, in batch order
 *   hard:          for each cluster k in the batch, step(k, f_h) once with its hardest sample h: the
 *                  lowest f_b · m_k among b with t_b = k (the first on ties), m_k as before the step
 *
 * Rows of different clusters never meet, so a backend may update them in parallel: only the
 * order of one cluster's steps (momentum) is fixed.
 */
import type { Float } from '../gemm.ts';
import { normalizeRowInPlace } from '../rows.ts';

function step(M: Float, k: number, f: Float, b: number, D: number, momentum: number): void {
  const mo = k * D, fo = b * D;
  for (let d = 0; d < D; d++) M[mo + d] = momentum * M[mo + d] + (1 - momentum) * f[fo + d];
  normalizeRowInPlace(M, mo, D);
}

export function memoryUpdate(D: number, B: number, momentum: number, hard: boolean, M: Float, f: Float, targets: Float): void {
  if (!hard) {
    for (let b = 0; b < B; b++) step(M, targets[b], f, b, D, momentum);
    return;
  }
  const hardest = new Map<number, { b: number; sim: number }>();
  for (let b = 0; b < B; b++) {
    const k = targets[b];
    let sim = 0;
    for (let d = 0; d < D; d++) sim += f[b * D + d] * M[k * D + d];
    const cur = hardest.get(k);
    if (cur === undefined || sim < cur.sim) hardest.set(k, { b, sim });
  }
  for (const [k, { b }] of hardest) step(M, k, f, b, D, momentum);
}
