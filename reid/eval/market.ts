/**
 * The Market-1501 evaluation protocol (the contract's `eval_market`): mAP and CMC.
 *
 * Symbols: dist[Q, G] (smaller = more similar), q_pids/q_camids [Q], g_pids/g_camids [G], max_rank R.
 * For each query q:
 *   - gallery items with the same pid *and* the same camera as q are removed;
 *   - a query left with no true match (same pid, other camera) is skipped;
 *   - the rest of the gallery is ranked by ascending distance (ties: lower gallery index first,
 *     i.e. a stable argsort);
 *   - AP_q = mean over the true matches of the precision at each match's rank;
 *   - CMC_q[k] = 1 if a true match is within the first k+1, else 0.
 * mAP = mean AP_q and CMC[k] = mean CMC_q[k], over the non-skipped queries.
 *
 * How it is computed without sorting the gallery: with the m true matches sorted by
 * (distance, index), each other kept gallery item falls between two consecutive matches; one pass
 * counts how many items fall before each match (binary search in the m sorted matches), so
 * rank(match j) = j + 1 + #items before it, in O(G log m) per query instead of O(G log G).
 * `evalMarketReference` in spec/reid-reference.ts is the obvious sort-based version it equals.
 */

export type Ids = ArrayLike<number>;

export interface MarketResult {
  /** Mean average precision over the non-skipped queries (0 when every query is skipped). */
  mAP: number;
  /** cmc[k]: share of non-skipped queries with a true match in the top k+1; length maxRank. */
  cmc: Float64Array;
  /** Number of queries that had at least one true match. */
  validQueries: number;
  /** AP of each query, NaN for skipped ones. */
  ap: Float64Array;
}

/** Accumulates AP and CMC one query row at a time (rows can come from a blocked GEMM). */
export class MarketAccumulator {
  readonly cmcCounts: Float64Array;
  readonly ap: Float64Array;
  private apSum = 0;
  private valid = 0;
  private matchIdx = new Int32Array(64);
  private matchDist = new Float64Array(64);
  private before = new Int32Array(65);

  constructor(
    readonly numQueries: number,
    readonly gPids: Ids,
    readonly gCams: Ids,
    readonly maxRank: number,
  ) {
    if (gPids.length !== gCams.length) throw new Error(`eval_market: g_pids has ${gPids.length} entries but g_camids has ${gCams.length}`);
    if (!(maxRank >= 1)) throw new Error(`eval_market: max_rank must be >= 1, got ${maxRank}`);
    this.cmcCounts = new Float64Array(maxRank);
    this.ap = new Float64Array(numQueries).fill(NaN);
  }

  /** Adds query `qi` whose distances to the G gallery items are row[off .. off+G). */
  addQuery(qi: number, row: ArrayLike<number>, off: number, qPid: number, qCam: number): void {
    const G = this.gPids.length;
    const gp = this.gPids;
    const gc = this.gCams;
    // The true matches: same pid, other camera.
    let m = 0;
    for (let g = 0; g < G; g++) {
      if (gp[g] === qPid && gc[g] !== qCam) {
        if (m === this.matchIdx.length) this.growMatches();
        this.matchIdx[m++] = g;
      }
    }
    if (m === 0) return; // skipped: no true match in the gallery
    // Sort the matches by (distance, index); insertion sort, m is small.
    const mi = this.matchIdx;
    const md = this.matchDist;
    for (let j = 0; j < m; j++) {
      const g = mi[j];
      const d = row[off + g];
      if (d !== d) throw new Error(`eval_market: distance of query ${qi} to gallery item ${g} is NaN`);
      let k = j - 1;
      while (k >= 0 && md[k] > d) { md[k + 1] = md[k]; mi[k + 1] = mi[k]; k--; }
      md[k + 1] = d;
      mi[k + 1] = g;
    }
    // before[p]: number of kept non-match items with exactly p matches ranked ahead of them.
    const before = this.before;
    before.fill(0, 0, m + 1);
    const dFirst = md[0];
    const iFirst = mi[0];
    for (let g = 0; g < G; g++) {
      const pid = gp[g];
      if (pid === qPid) continue; // same pid: either a match or removed (same camera)
      const d = row[off + g];
      if (d < dFirst || (d === dFirst && g < iFirst)) { before[0]++; continue; }
      if (d !== d) throw new Error(`eval_market: distance of query ${qi} to gallery item ${g} is NaN`);
      // p = number of matches ranked ahead of g = first j with (md[j], mi[j]) > (d, g).
      let lo = 1;
      let hi = m;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (md[mid] < d || (md[mid] === d && mi[mid] < g)) lo = mid + 1;
        else hi = mid;
      }
      before[lo]++;
    }
    // AP = mean over matches j of precision (j+1) / rank_j, rank_j = j + 1 + #non-matches ahead.
    let ahead = 0;
    let apSum = 0;
    for (let j = 0; j < m; j++) {
      ahead += before[j];
      apSum += (j + 1) / (j + 1 + ahead);
    }
    const ap = apSum / m;
    this.ap[qi] = ap;
    this.apSum += ap;
    this.valid++;
    // CMC: the first true match sits at 0-based rank before[0].
    for (let k = before[0]; k < this.maxRank; k++) this.cmcCounts[k]++;
  }

  result(): MarketResult {
    const v = this.valid;
    const cmc = new Float64Array(this.maxRank);
    for (let k = 0; k < this.maxRank; k++) cmc[k] = v > 0 ? this.cmcCounts[k] / v : 0;
    return { mAP: v > 0 ? this.apSum / v : 0, cmc, validQueries: v, ap: this.ap };
  }

  private growMatches(): void {
    const n = this.matchIdx.length * 2;
    const i = new Int32Array(n); i.set(this.matchIdx); this.matchIdx = i;
    const d = new Float64Array(n); d.set(this.matchDist); this.matchDist = d;
    this.before = new Int32Array(n + 1);
  }
}

/** Checks the id arrays against dist's shape, naming the offending argument. */
export function checkProtocolInputs(Q: number, G: number, qPids: Ids, gPids: Ids, qCams: Ids, gCams: Ids): void {
  const want: [string, Ids, number][] = [['q_pids', qPids, Q], ['q_camids', qCams, Q], ['g_pids', gPids, G], ['g_camids', gCams, G]];
  for (const [name, a, n] of want) {
    if (a.length !== n) throw new Error(`eval_market: ${name} has ${a.length} entries, expected ${n} (dist is ${Q} x ${G})`);
  }
}

/** mAP and CMC from a full distance matrix dist[Q, G] (row-major). */
export function evalMarket(
  dist: ArrayLike<number>, Q: number, G: number,
  qPids: Ids, gPids: Ids, qCams: Ids, gCams: Ids, maxRank = 50,
): MarketResult {
  if (dist.length !== Q * G) throw new Error(`eval_market: dist has ${dist.length} values, expected Q*G = ${Q}*${G}`);
  checkProtocolInputs(Q, G, qPids, gPids, qCams, gCams);
  const acc = new MarketAccumulator(Q, gPids, gCams, maxRank);
  for (let q = 0; q < Q; q++) acc.addQuery(q, dist, q * G, qPids[q], qCams[q]);
  return acc.result();
}
