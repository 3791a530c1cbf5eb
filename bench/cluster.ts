/**
 * Clustering suite: the per-epoch clustering of cluster/pipeline.ts (exact k-NN → Jaccard → DBSCAN)
 * on synthetic clustered features (about 700 clusters on the unit sphere, D = 2048, plus 3%
 * uniform outliers) at N = 12,936 (Market-1501's training set) and N = 32,621 (MSMT17's).
 *
 * Each size runs in a fresh child process so its peak resident memory (maxRSS) is its own. When
 * Debian's python3-numpy / python3-sklearn are installed (/usr/bin/python3), the same features
 * go through the same algorithm in numpy + scikit-learn: Cluster Contrast's code path
 * (compute_jaccard_distance with dense V, then DBSCAN(metric='precomputed')), with exact k-NN by
 * blocked numpy GEMM instead of faiss. Also in a fresh process, after the TypeScript one.
 *
 * Rows (bench/results/cluster.json): {case, metric, value, unit, peer, peerValue, ratio, machine};
 * for times ratio = peer time / TypeScript time (above 1: TypeScript faster), for memory
 * ratio = peer RSS / TypeScript RSS. Run: `npm run bench -- cluster` or `npx tsx bench/cluster.ts [N...]`;
 * BENCH_BACKEND=cpu|wasm (default wasm) picks our backend.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { clusterFeatures } from '../cluster/pipeline.ts';
import { mergeResults, useBenchBackend } from './common.ts';

const D = 2048;
const CLUSTERS = 700;
const SIZES = [12936, 32621];
const PARAMS = { k1: 30, k2: 6, eps: 0.4, minSamples: 4 };
const PYTHON = '/usr/bin/python3';
const here = fileURLToPath(import.meta.url);
const root = join(dirname(here), '..');

interface StageReport { knn: number; jaccard: number; dbscan: number; total: number; maxRssMB: number; K: number; outliers: number; labelsFile: string }

/** Seeded synthetic features: 700 centres on the sphere, members = centre + σ·noise (σ per cluster), 3% uniform outliers; rows L2-normalised. */
function syntheticFeatures(N: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const next = () => { s = (s + 0x6d2b79f5) >>> 0; let t = s; t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
  const normal = () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
  const centres = new Float32Array(CLUSTERS * D);
  for (let t = 0; t < centres.length; t++) centres[t] = normal() / Math.sqrt(D);
  const sigma = Float64Array.from({ length: CLUSTERS }, () => (0.7 + 0.5 * next()) / Math.sqrt(D));
  const X = new Float32Array(N * D);
  for (let i = 0; i < N; i++) {
    const outlier = next() < 0.03;
    const c = Math.floor(next() * CLUSTERS);
    let n2 = 0;
    for (let d = 0; d < D; d++) {
      const v = outlier ? normal() : centres[c * D + d] + sigma[c] * normal();
      X[i * D + d] = v;
      n2 += v * v;
    }
    const inv = 1 / Math.sqrt(n2);
    for (let d = 0; d < D; d++) X[i * D + d] *= inv;
  }
  return X;
}

/** Child: generate, write the features for the peer, cluster, report one JSON line. */
async function child(N: number, dir: string): Promise<void> {
  await useBenchBackend();
  const X = syntheticFeatures(N, 1234 + N);
  writeFileSync(join(dir, `features-${N}.f32`), new Uint8Array(X.buffer));
  const t = performance.now();
  const r = await clusterFeatures(X, N, D, PARAMS);
  const total = (performance.now() - t) / 1000;
  const labelsFile = join(dir, `labels-ts-${N}.i32`);
  writeFileSync(labelsFile, new Uint8Array(r.raw.buffer));
  const rep: StageReport = { ...r.seconds, total, maxRssMB: process.resourceUsage().maxRSS / 1024, K: r.pseudo.K, outliers: r.pseudo.outliers, labelsFile };
  console.log(`REPORT ${JSON.stringify(rep)}`);
}

/** The peer: the Cluster Contrast code path in numpy + scikit-learn (dense V and dense Jaccard matrix, as the original). */
const PEER = String.raw`
import sys, json, time, resource
import numpy as np
from sklearn.cluster import DBSCAN

path, N, D, k1, k2, eps, min_samples, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6]), int(sys.argv[7]), sys.argv[8]
X = np.fromfile(path, dtype=np.float32).reshape(N, D)
t0 = time.time()
# Exact k-NN (what faiss IndexFlatL2.search returns: k1 columns, self first), by blocked GEMM.
sq = (X * X).sum(1)
initial_rank = np.empty((N, k1), dtype=np.int64)
for s in range(0, N, 2048):
    e = min(N, s + 2048)
    d = sq[s:e, None] + sq[None, :] - 2 * (X[s:e] @ X.T)
    d[np.arange(e - s), np.arange(s, e)] = -np.inf
    part = np.argpartition(d, k1 - 1, axis=1)[:, :k1]
    order = np.argsort(np.take_along_axis(d, part, 1), axis=1)
    initial_rank[s:e] = np.take_along_axis(part, order, 1)
t1 = time.time()

def reciprocal(i, k):
    fw = initial_rank[i, :k + 1]
    bw = initial_rank[fw, :k + 1]
    return fw[np.where(bw == i)[0]]

half = int(np.around(k1 / 2))
R = [reciprocal(i, k1) for i in range(N)]
Rh = [reciprocal(i, half) for i in range(N)]
V = np.zeros((N, N), dtype=np.float32)
for i in range(N):
    E = R[i]
    for c in R[i]:
        cand = Rh[c]
        if len(np.intersect1d(cand, R[i])) > 2 / 3 * len(cand):
            E = np.append(E, cand)
    E = np.unique(E)
    w = -(2 - 2 * (X[i] @ X[E].T))
    w = np.exp(w - w.max())
    V[i, E] = w / w.sum()
if k2 != 1:
    Vqe = np.zeros_like(V)
    for i in range(N):
        Vqe[i, :] = np.mean(V[initial_rank[i, :k2], :], axis=0)
    V = Vqe
    del Vqe
inv = [np.where(V[:, c] != 0)[0] for c in range(N)]
jac = np.zeros((N, N), dtype=np.float32)
for i in range(N):
    acc = np.zeros((1, N), dtype=np.float32)
    nz = np.where(V[i, :] != 0)[0]
    for c in nz:
        rows = inv[c]
        acc[0, rows] = acc[0, rows] + np.minimum(V[i, c], V[rows, c])
    jac[i] = 1 - acc / (2 - acc)
del inv, V
jac[jac < 0] = 0
t2 = time.time()
labels = DBSCAN(eps=eps, min_samples=min_samples, metric='precomputed', n_jobs=-1).fit_predict(jac)
t3 = time.time()
labels.astype(np.int32).tofile(out)
print('REPORT ' + json.dumps({'knn': t1 - t0, 'jaccard': t2 - t1, 'dbscan': t3 - t2, 'total': t3 - t0,
    'maxRssMB': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 'K': int(labels.max() + 1),
    'outliers': int((labels == -1).sum()), 'labelsFile': out}))
`;

function parseReport(stdout: string, who: string): StageReport {
  const line = stdout.split('\n').find((l) => l.startsWith('REPORT '));
  if (!line) throw new Error(`${who}: no REPORT line in its output:\n${stdout.slice(-2000)}`);
  return JSON.parse(line.slice(7));
}

/** Share of points whose label the other labeling maps to by majority (1 = same partition). */
function agreement(a: Int32Array, b: Int32Array): number {
  const votes = new Map<number, Map<number, number>>();
  for (let i = 0; i < a.length; i++) {
    if (!votes.has(a[i])) votes.set(a[i], new Map());
    const m = votes.get(a[i])!;
    m.set(b[i], (m.get(b[i]) ?? 0) + 1);
  }
  let agree = 0;
  for (const m of votes.values()) agree += Math.max(...m.values());
  return agree / a.length;
}

export async function run(sizes: number[] = SIZES): Promise<void> {
  const machine = `${cpus().length}x ${cpus()[0]?.model ?? 'cpu'}`;
  const dir = mkdtempSync(join(tmpdir(), 'bench-cluster-'));
  const havePeer = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import numpy, sklearn'], { stdio: 'ignore' }).status === 0;
  if (!havePeer) console.log(`peer: ${PYTHON} with numpy + scikit-learn not found; TypeScript only (apt-get install python3-numpy python3-sklearn)`);
  const rows: Record<string, unknown>[] = [];
  try {
    for (const N of sizes) {
      console.log(`N = ${N}, D = ${D}, ${CLUSTERS} clusters: TypeScript (backend ${process.env.BENCH_BACKEND ?? 'wasm'}) ...`);
      const ts = spawnSync(process.execPath, ['--import', 'tsx', here, '--child', String(N), dir], { cwd: root, encoding: 'utf8', maxBuffer: 1 << 26 });
      if (ts.status !== 0) throw new Error(`TypeScript child failed (status ${ts.status}):\n${ts.stderr}`);
      const mine = parseReport(ts.stdout, 'TypeScript child');
      let peer: StageReport | undefined;
      if (havePeer) {
        console.log(`N = ${N}: numpy + scikit-learn ...`);
        writeFileSync(join(dir, 'peer.py'), PEER);
        const py = spawnSync(PYTHON, [join(dir, 'peer.py'), join(dir, `features-${N}.f32`), String(N), String(D), String(PARAMS.k1), String(PARAMS.k2), String(PARAMS.eps), String(PARAMS.minSamples), join(dir, `labels-py-${N}.i32`)], { encoding: 'utf8', maxBuffer: 1 << 26 });
        if (py.status !== 0) console.log(`peer failed (status ${py.status}, signal ${py.signal}): ${py.stderr.slice(-1500)}`);
        else peer = parseReport(py.stdout, 'python peer');
      }
      const peerName = 'numpy+sklearn (cluster-contrast path, exact kNN)';
      for (const stage of ['knn', 'jaccard', 'dbscan', 'total'] as const) {
        rows.push({ case: `cluster N=${N} ${stage}`, metric: 'time', value: mine[stage], unit: 's', peer: peer ? peerName : 'none', peerValue: peer?.[stage] ?? null, ratio: peer ? peer[stage] / mine[stage] : null, machine });
      }
      rows.push({ case: `cluster N=${N} peak RSS`, metric: 'memory', value: mine.maxRssMB, unit: 'MB', peer: peer ? peerName : 'none', peerValue: peer?.maxRssMB ?? null, ratio: peer ? peer.maxRssMB / mine.maxRssMB : null, machine });
      rows.push({ case: `cluster N=${N} clusters K`, metric: 'count', value: mine.K, unit: 'clusters', peer: peer ? peerName : 'none', peerValue: peer?.K ?? null, ratio: peer ? peer.K / mine.K : null, machine });
      rows.push({ case: `cluster N=${N} outliers`, metric: 'count', value: mine.outliers, unit: 'points', peer: peer ? peerName : 'none', peerValue: peer?.outliers ?? null, ratio: peer && mine.outliers ? peer.outliers / mine.outliers : null, machine });
      if (peer) {
        const { readFileSync } = await import('node:fs');
        const a = new Int32Array(readFileSync(mine.labelsFile).buffer.slice(0));
        const b = new Int32Array(readFileSync(peer.labelsFile).buffer.slice(0));
        rows.push({ case: `cluster N=${N} label agreement`, metric: 'agreement', value: Math.min(agreement(a, b), agreement(b, a)), unit: 'share of points', peer: peerName, peerValue: 1, ratio: null, machine });
      }
      for (const r of rows.filter((r) => String(r.case).startsWith(`cluster N=${N} `))) {
        const v = (x: unknown) => (typeof x === 'number' ? (Number.isInteger(x) ? String(x) : x.toFixed(2)) : '-');
        console.log(`  ${String(r.case).padEnd(34)} TS ${v(r.value).padStart(9)} ${String(r.unit).padEnd(16)} peer ${v(r.peerValue).padStart(9)}  ratio ${v(r.ratio)}`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const out = join(root, 'bench', 'results', 'cluster.json');
  mergeResults(out, rows as { case: unknown }[]); // the sizes not run this time keep their last rows
  console.log(`wrote ${out}`);
}

if (process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url) {
  const args = process.argv.slice(2);
  if (args[0] === '--child') await child(Number(args[1]), args[2]);
  else {
    const bad = args.find((a) => !/^\d+$/.test(a) || Number(a) < 2);
    if (bad !== undefined) throw new Error(`bench/cluster.ts: '${bad}' is not a number of points N (usage: npx tsx bench/cluster.ts [N ...], default ${SIZES.join(' ')})`);
    await run(args.length ? args.map(Number) : SIZES);
  }
}
