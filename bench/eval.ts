/**
 * Evaluation suite: the Market-1501 protocol at Market-1501's real size (3,368 queries x 15,913
 * gallery images), on seeded random features with identity structure (750 test identities plus
 * distractors, 6 cameras, D = 2048), against numpy running the same protocol.
 *
 * Cases
 *   protocol   mAP + CMC from a given distance matrix (ours: reid/eval/market.ts, sort-free;
 *              numpy: argsort of the whole matrix, then the community's eval_market1501 per-query
 *              loop with its AP step vectorised: cumsum / arange instead of a Python list).
 *   full       features -> squared distances of L2-normalised rows -> protocol (ours:
 *              evaluateParallel(), queries split over the machine's threads, blocked GEMM of 128
 *              queries at a time in each; numpy: one float32 matmul (OpenBLAS, all cores), then the above).
 *   rerank     k-reciprocal re-ranking (k1 20, k2 6, lambda 0.3) at a modest size (Q 100, G 500),
 *              checked against a numpy transcription of the standard re_ranking (max |difference|):
 *              the dense definition (reid/eval/rerank.ts) and the one from features
 *              (reid/eval/rerank-features.ts, which must equal it bit for bit); then at Market's size
 *              from features, through evaluate() (no peer: the dense code's N x N matrices, N = 19,281,
 *              are 1.5 GB each).
 * Both sides also report mAP, and the suite fails loudly if they disagree.
 *
 * Rows (bench/results/eval.json): {case, metric, value, unit, peer, peerValue, ratio, machine};
 * for times ratio = peer time / our time (above 1: TypeScript faster). Peer absent (no
 * /usr/bin/python3 with numpy): rows without peer values and a message.
 * Run: `npm run bench -- eval` or `npx tsx bench/eval.ts`; BENCH_BACKEND=cpu|wasm (default wasm) picks our backend.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Rng } from '../core/random.ts';
import { evaluateParallel } from '../reid/eval/evaluate-parallel.ts';
import { evalMarket } from '../reid/eval/market.ts';
import { l2NormalizeRows, squaredDistanceMatrix } from '../reid/eval/distance.ts';
import { evaluate } from '../reid/eval/evaluate.ts';
import { reRankFeatures } from '../reid/eval/rerank-features.ts';
import { reRank } from '../reid/eval/rerank.ts';
import { useBenchBackend } from './common.ts';

const Q = 3368, G = 15913, D = 2048, PIDS = 750, CAMS = 6, DISTRACTORS = 2793;
const PYTHON = '/usr/bin/python3';
/** Noise scale of the features: identity centres ~ N(0, 1) per dimension; 4 gives a mid-range mAP at D = 2048. */
const NOISE = 4;
const here = fileURLToPath(import.meta.url);

interface Row { case: string; metric: string; value: number; unit: string; peer: string | null; peerValue: number | null; ratio: number | null; machine: string }

const PEER_SCRIPT = String.raw`
import json, sys, time
import numpy as np
d = sys.argv[1]; Q, G, D, mode = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
ld = lambda n, t: np.fromfile(d + '/' + n, dtype=t)
q_pids, g_pids, q_camids, g_camids = ld('qp.i32', np.int32), ld('gp.i32', np.int32), ld('qc.i32', np.int32), ld('gc.i32', np.int32)

def eval_market1501(distmat, q_pids, g_pids, q_camids, g_camids, max_rank=50):
    num_q, num_g = distmat.shape
    indices = np.argsort(distmat, axis=1)
    matches = (g_pids[indices] == q_pids[:, np.newaxis]).astype(np.int32)
    all_cmc, all_AP, num_valid_q = [], [], 0.
    for q_idx in range(num_q):
        q_pid, q_camid = q_pids[q_idx], q_camids[q_idx]
        order = indices[q_idx]
        remove = (g_pids[order] == q_pid) & (g_camids[order] == q_camid)
        keep = np.invert(remove)
        raw_cmc = matches[q_idx][keep]
        if not np.any(raw_cmc):
            continue
        cmc = raw_cmc.cumsum()
        cmc[cmc > 1] = 1
        all_cmc.append(cmc[:max_rank])
        num_valid_q += 1.
        num_rel = raw_cmc.sum()
        tmp_cmc = raw_cmc.cumsum() / np.arange(1, len(raw_cmc) + 1)
        all_AP.append((tmp_cmc * raw_cmc).sum() / num_rel)
    all_cmc = np.asarray(all_cmc).astype(np.float32).sum(0) / num_valid_q
    return all_cmc, float(np.mean(all_AP))

def re_ranking(q_g_dist, q_q_dist, g_g_dist, k1=20, k2=6, lambda_value=0.3):
    original_dist = np.concatenate([np.concatenate([q_q_dist, q_g_dist], axis=1), np.concatenate([q_g_dist.T, g_g_dist], axis=1)], axis=0)
    original_dist = np.power(original_dist, 2).astype(np.float32)
    original_dist = np.transpose(1. * original_dist / np.max(original_dist, axis=0))
    V = np.zeros_like(original_dist).astype(np.float32)
    initial_rank = np.argsort(original_dist, kind='stable').astype(np.int32)
    query_num = q_g_dist.shape[0]
    gallery_num = q_g_dist.shape[0] + q_g_dist.shape[1]
    all_num = gallery_num
    for i in range(all_num):
        forward_k_neigh_index = initial_rank[i, :k1 + 1]
        backward_k_neigh_index = initial_rank[forward_k_neigh_index, :k1 + 1]
        fi = np.where(backward_k_neigh_index == i)[0]
        k_reciprocal_index = forward_k_neigh_index[fi]
        k_reciprocal_expansion_index = k_reciprocal_index
        for j in range(len(k_reciprocal_index)):
            candidate = k_reciprocal_index[j]
            candidate_forward_k_neigh_index = initial_rank[candidate, :int(np.around(k1 / 2.)) + 1]
            candidate_backward_k_neigh_index = initial_rank[candidate_forward_k_neigh_index, :int(np.around(k1 / 2.)) + 1]
            fi_candidate = np.where(candidate_backward_k_neigh_index == candidate)[0]
            candidate_k_reciprocal_index = candidate_forward_k_neigh_index[fi_candidate]
            if len(np.intersect1d(candidate_k_reciprocal_index, k_reciprocal_index)) > 2. / 3 * len(candidate_k_reciprocal_index):
                k_reciprocal_expansion_index = np.append(k_reciprocal_expansion_index, candidate_k_reciprocal_index)
        k_reciprocal_expansion_index = np.unique(k_reciprocal_expansion_index)
        weight = np.exp(-original_dist[i, k_reciprocal_expansion_index])
        V[i, k_reciprocal_expansion_index] = 1. * weight / np.sum(weight)
    original_dist = original_dist[:query_num, ]
    if k2 != 1:
        V_qe = np.zeros_like(V, dtype=np.float32)
        for i in range(all_num):
            V_qe[i, :] = np.mean(V[initial_rank[i, :k2], :], axis=0)
        V = V_qe
    invIndex = [np.where(V[:, i] != 0)[0] for i in range(gallery_num)]
    jaccard_dist = np.zeros_like(original_dist, dtype=np.float32)
    for i in range(query_num):
        temp_min = np.zeros(shape=[1, gallery_num], dtype=np.float32)
        indNonZero = np.where(V[i, :] != 0)[0]
        indImages = [invIndex[ind] for ind in indNonZero]
        for j in range(len(indNonZero)):
            temp_min[0, indImages[j]] = temp_min[0, indImages[j]] + np.minimum(V[i, indNonZero[j]], V[indImages[j], indNonZero[j]])
        jaccard_dist[i] = 1 - temp_min / (2. - temp_min)
    final_dist = jaccard_dist * (1 - lambda_value) + original_dist * lambda_value
    return final_dist[:query_num, query_num:]

out = {}
if mode == 'protocol':
    dist = ld('dist.f32', np.float32).reshape(Q, G)
    t = time.perf_counter(); cmc, mAP = eval_market1501(dist, q_pids, g_pids, q_camids, g_camids); out['protocol'] = time.perf_counter() - t
    out['protocol_mAP'] = mAP; out['protocol_r1'] = float(cmc[0])
elif mode == 'full':
    qf, gf = ld('qf.f32', np.float32).reshape(Q, D), ld('gf.f32', np.float32).reshape(G, D)
    t = time.perf_counter()
    qn = qf / np.maximum(np.linalg.norm(qf, axis=1, keepdims=True), 1e-12)
    gn = gf / np.maximum(np.linalg.norm(gf, axis=1, keepdims=True), 1e-12)
    dist = np.maximum(2 - 2 * (qn @ gn.T), 0)
    t1 = time.perf_counter()
    cmc, mAP = eval_market1501(dist, q_pids, g_pids, q_camids, g_camids)
    out['full'] = time.perf_counter() - t; out['full_distances'] = t1 - t; out['full_mAP'] = mAP
elif mode == 'rerank':
    qg, qq, gg = ld('qg.f32', np.float32).reshape(Q, G), ld('qq.f32', np.float32).reshape(Q, Q), ld('gg.f32', np.float32).reshape(G, G)
    t = time.perf_counter(); final = re_ranking(qg, qq, gg); out['rerank'] = time.perf_counter() - t
    final.astype(np.float32).tofile(d + '/rerank_peer.f32')
print(json.dumps(out))
`;

function peer(dir: string, q: number, g: number, d: number, mode: string): Record<string, number> | null {
  const r = spawnSync(PYTHON, ['-c', PEER_SCRIPT, dir, String(q), String(g), String(d), mode], { encoding: 'utf8', maxBuffer: 1 << 26, env: { ...process.env } });
  if (r.status !== 0) {
    if (/No module named .?numpy/.test(r.stderr ?? '') || r.error) return null;
    throw new Error(`numpy peer (${mode}) failed: ${r.stderr}`);
  }
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

function write(dir: string, name: string, a: Float32Array | Int32Array): void {
  writeFileSync(join(dir, name), new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
}

/** Seeded Market-sized labels and features: identity centres plus noise; distractors are pure noise. */
function problem(seed: number, q: number, g: number, d: number, pids: number, distractors: number) {
  const r = new Rng(seed);
  const centres = Float32Array.from({ length: (pids + 1) * d }, () => r.normal());
  const qp = Int32Array.from({ length: q }, () => 1 + r.int(pids));
  const gp = Int32Array.from({ length: g }, (_, i) => (i < distractors ? 0 : 1 + r.int(pids)));
  const qc = Int32Array.from({ length: q }, () => r.int(CAMS));
  const gc = Int32Array.from({ length: g }, () => r.int(CAMS));
  const feats = (ids: Int32Array) => {
    const f = new Float32Array(ids.length * d);
    for (let i = 0; i < ids.length; i++) for (let k = 0; k < d; k++) f[i * d + k] = (ids[i] ? centres[ids[i] * d + k] : 0) + NOISE * r.normal();
    return f;
  };
  return { qp, gp, qc, gc, qf: feats(qp), gf: feats(gp) };
}

const secs = (t0: number) => (performance.now() - t0) / 1000;

export async function run(): Promise<void> {
  console.log(`backend: ${await useBenchBackend()}`);
  const machine = `${cpus().length}x ${cpus()[0]?.model.trim() ?? 'cpu'}`;
  const dir = mkdtempSync(join(tmpdir(), 'bench-eval-'));
  const rows: Row[] = [];
  let peerName: string | null = 'numpy (eval_market1501, AP step vectorised)';
  const add = (c: string, metric: string, value: number, unit: string, pv: number | null, ratioOf: 'time' | 'none' = 'time') =>
    rows.push({ case: c, metric, value, unit, peer: pv === null ? null : peerName, peerValue: pv, ratio: pv === null || ratioOf === 'none' ? null : pv / value, machine });
  try {
    console.log(`eval bench: Q=${Q} G=${G} D=${D}, ${machine}`);
    const p = problem(7, Q, G, D, PIDS, DISTRACTORS);
    for (const [n, a] of [['qp.i32', p.qp], ['gp.i32', p.gp], ['qc.i32', p.qc], ['gc.i32', p.gc], ['qf.f32', p.qf], ['gf.f32', p.gf]] as const) write(dir, n, a);

    // full: features -> blocked distances -> protocol
    let t0 = performance.now();
    const full = await evaluateParallel(p.qf, p.gf, D, { pids: p.qp, camids: p.qc }, { pids: p.gp, camids: p.gc });
    const tFull = secs(t0);
    const peerFull = peer(dir, Q, G, D, 'full');
    if (!peerFull) { peerName = null; console.log('numpy not found (/usr/bin/python3 -c "import numpy" failed): peer columns left empty; apt-get install python3-numpy to compare'); }
    if (peerFull && Math.abs(peerFull.full_mAP - full.mAP) > 1e-4) throw new Error(`full: mAP ${full.mAP} differs from numpy's ${peerFull.full_mAP}`);
    add(`full Q=${Q} G=${G} D=${D}`, 'time', tFull, 's', peerFull?.full ?? null);
    add(`full Q=${Q} G=${G} D=${D}`, 'mAP', full.mAP, '', peerFull?.full_mAP ?? null, 'none');
    console.log(`full: ours ${tFull.toFixed(2)} s, numpy ${peerFull?.full?.toFixed(2) ?? '-'} s (of which distances ${peerFull?.full_distances?.toFixed(2) ?? '-'} s); mAP ${full.mAP.toFixed(4)}`);

    // protocol only, on a given distance matrix (computed once, in blocks, outside the timing)
    const dist = new Float32Array(Q * G);
    {
      const block = 256;
      for (let q0 = 0; q0 < Q; q0 += block) {
        const rows_ = Math.min(block, Q - q0);
        dist.set(squaredDistanceMatrix(p.qf.subarray(q0 * D, (q0 + rows_) * D), rows_, p.gf, G, D), q0 * G);
      }
    }
    write(dir, 'dist.f32', dist);
    let best = Infinity;
    let res = evalMarket(dist, Q, G, p.qp, p.gp, p.qc, p.gc);
    for (let rep = 0; rep < 3; rep++) {
      t0 = performance.now();
      res = evalMarket(dist, Q, G, p.qp, p.gp, p.qc, p.gc);
      best = Math.min(best, secs(t0));
    }
    const peerProt = peerName ? peer(dir, Q, G, D, 'protocol') : null;
    if (peerProt && Math.abs(peerProt.protocol_mAP - res.mAP) > 1e-6) throw new Error(`protocol: mAP ${res.mAP} differs from numpy's ${peerProt.protocol_mAP}`);
    add(`protocol Q=${Q} G=${G}`, 'time', best, 's', peerProt?.protocol ?? null);
    add(`protocol Q=${Q} G=${G}`, 'rank-1', res.cmc[0], '', peerProt?.protocol_r1 ?? null, 'none');
    console.log(`protocol: ours ${best.toFixed(3)} s (best of 3), numpy ${peerProt?.protocol?.toFixed(3) ?? '-'} s; mAP ${res.mAP.toFixed(4)} vs ${peerProt?.protocol_mAP?.toFixed(4) ?? '-'}`);

    // re-ranking at a modest size, with agreement
    const rq = 100, rg = 500, rd = 64;
    const s = problem(11, rq, rg, rd, 60, 50);
    const qg = squaredDistanceMatrix(s.qf, rq, s.gf, rg, rd), qq = squaredDistanceMatrix(s.qf, rq, s.qf, rq, rd), gg = squaredDistanceMatrix(s.gf, rg, s.gf, rg, rd);
    write(dir, 'qg.f32', qg); write(dir, 'qq.f32', qq); write(dir, 'gg.f32', gg);
    t0 = performance.now();
    const rr = reRank(qg, qq, gg, rq, rg);
    const tRr = secs(t0);
    t0 = performance.now();
    const rf = reRankFeatures(l2NormalizeRows(s.qf, rq, rd), l2NormalizeRows(s.gf, rg, rd), rq, rg, rd);
    const tRf = secs(t0);
    const firstDiff = rf.findIndex((v, i) => !Object.is(v, rr[i]));
    if (firstDiff >= 0) throw new Error(`rerank from features differs from the dense definition at ${firstDiff}: ${rf[firstDiff]} vs ${rr[firstDiff]}`);
    const peerRr = peerName ? peer(dir, rq, rg, rd, 'rerank') : null;
    add(`rerank Q=${rq} G=${rg}`, 'time', tRr, 's', peerRr?.rerank ?? null);
    add(`rerank from features Q=${rq} G=${rg}`, 'time', tRf, 's', peerRr?.rerank ?? null);
    if (peerRr) {
      const buf = readFileSync(join(dir, 'rerank_peer.f32'));
      const want = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
      let maxDiff = 0;
      for (let i = 0; i < want.length; i++) maxDiff = Math.max(maxDiff, Math.abs(want[i] - rr[i]));
      add(`rerank Q=${rq} G=${rg}`, 'max |ours - numpy|', maxDiff, '', null, 'none');
      rows[rows.length - 1].peer = peerName;
      console.log(`rerank: ours ${tRr.toFixed(2)} s, numpy ${peerRr.rerank.toFixed(2)} s, max |difference| ${maxDiff.toExponential(2)}`);
      if (!(maxDiff < 1e-4)) throw new Error(`rerank differs from numpy's re_ranking by ${maxDiff}`);
    }
    console.log(`rerank from features: ${tRf.toFixed(2)} s, equal to the dense definition bit for bit`);

    // re-ranking at Market's size, from features (evaluate() with rerank)
    t0 = performance.now();
    const rm = evaluate(p.qf, p.gf, D, { pids: p.qp, camids: p.qc }, { pids: p.gp, camids: p.gc }, { rerank: true });
    const tRm = secs(t0);
    add(`rerank full Q=${Q} G=${G} D=${D}`, 'time', tRm, 's', null);
    add(`rerank full Q=${Q} G=${G} D=${D}`, 'mAP', rm.mAP, '', null, 'none');
    console.log(`rerank at Market's size from features: ${tRm.toFixed(1)} s; mAP ${full.mAP.toFixed(4)} -> ${rm.mAP.toFixed(4)} with re-ranking`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const out = join(dirname(here), 'results', 'eval.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(rows, null, 2) + '\n');
  console.log(`wrote ${out}`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await run();
