/**
 * The unsupervised training loop (paper section 3, Cluster Contrast's recipe), one epoch at a time:
 *
 *   0. evaluate  once before the first epoch (`evalAtStart`): the point the training is measured from
 *   1. extract   f_i = model(x_i) for every training image (eval mode, no augmentation)
 *   2. cluster   exact k-NN -> k-reciprocal Jaccard distance -> DBSCAN(eps, min_samples) -> pseudo-labels,
 *                on the raw features (the paper) or camera-centred ones (`clusterOn`, the cpu profile)
 *   3. memory    one L2-normalised row per cluster (random member, the paper; or centroid)
 *   4. train     P x K batches over the clustered images: ClusterNCE (eq. 1) -> backward -> Adam,
 *                then the memory update (batch-hard, momentum) as its own step
 *   5. evaluate  every `evalEvery` epochs and at the end (mAP, CMC under the Market-1501 protocol)
 *   6. checkpoint atomically at every epoch end (last + best by mAP)
 *
 * Faults: a non-finite feature, loss, gradient or parameter stops the run (DivergedError) before
 * anything of the epoch is saved; `stopRequested` (Ctrl-C) is polled between iterations and after
 * extraction and clustering; the output folder's rules are in ./run-folder.ts.
 */
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { writeFileAtomic } from '../../core/safetensors.ts';
import { recycling } from '../../core/tensor.ts';
import { prepareRunFolder } from './run-folder.ts';
import { join } from 'node:path';
import { Rng } from '../../core/random.ts';
import { noGrad } from '../../core/autograd.ts';
import { Adam, StepLR } from '../../nn/optim.ts';
import { clusterFeatures as clusterPipeline } from '../../cluster/pipeline.ts';
import { pseudoLabels, type PseudoLabels } from '../../cluster/pseudo-labels.ts';
import { cameraCentred } from '../../cluster/camera-centre.ts';
import { ClusterMemory } from '../../cluster/memory.ts';
import { PKSampler } from '../../cluster/sampler.ts';
import { evaluate, labelsOf } from '../eval/evaluate.ts';
import type { MarketResult } from '../eval/market.ts';
import { assertResumable, type TrainConfig } from './config.ts';
import { type EpochMetrics, type StartMetrics, readCheckpoint, restoreOptimizer, saveCheckpoint } from './checkpoint.ts';
import type { Reporter } from './progress.ts';
import { type ReidData, type ReidItem, loadReidData, ImageBatcher } from './data.ts';
import { type ReidModel, buildModel } from './model.ts';
import { trainingStep } from './step.ts';

export class TrainingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrainingError';
  }
}

/** The run diverged (a non-finite loss, gradient, parameter or feature); nothing of it was saved. */
export class DivergedError extends TrainingError {
  constructor(message: string) {
    super(message);
    this.name = 'DivergedError';
  }
}

/** The first non-finite value of `xs` (index), or -1. */
function nonFiniteAt(xs: ArrayLike<number>): number {
  for (let i = 0; i < xs.length; i++) if (!Number.isFinite(xs[i])) return i;
  return -1;
}

/** Lets a signal handler (Ctrl-C) run between two synchronous steps. */
const yieldToEvents = () => new Promise<void>((resolve) => setImmediate(resolve));

export interface RunOptions {
  reporter: Reporter;
  /** Continue from `<out>/last.safetensors` (or the given checkpoint). */
  resume?: string | boolean;
  /** Stop after this many epochs in this process (tests of resume); the config's epochs still count. */
  stopAfterEpochs?: number;
  /** Set to true (e.g. by Ctrl-C) to stop at the next iteration; the last finished epoch is kept. */
  stopRequested?: () => boolean;
  /** Skip the pictures at the end (tests). */
  pictures?: boolean;
  /** Replace the run files of a used `out` folder instead of refusing it (run-folder.ts). */
  overwrite?: boolean;
}

export interface RunResult {
  history: EpochMetrics[];
  start: StartMetrics | null;
  final: Evaluation | null;
  model: ReidModel;
  data: ReidData;
  batcher: ImageBatcher;
  stoppedEarly: boolean;
  /** Stopped by stopRequested (Ctrl-C); the last finished epoch is in `<out>/last.safetensors`. */
  interrupted: boolean;
  /** The last epoch trained found fewer than 2 clusters: nothing was learnt from it. */
  collapsed: boolean;
}

/** Features of `items` (eval mode, test transform): Float32Array [items.length, dim]. */
export function extractFeatures(model: ReidModel, batcher: ImageBatcher, items: readonly ReidItem[], batchSize: number,
  reporter: Reporter, label: string): Float32Array {
  model.eval();
  const dim = model.featureDim;
  const out = new Float32Array(items.length * dim);
  const bar = reporter.phase(label, items.length, 'img');
  noGrad(() => {
    for (let i = 0; i < items.length; i += batchSize) {
      const chunk = items.slice(i, i + batchSize);
      recycling(() => out.set(model.forward(batcher.batch(chunk, 'test')).data, i * dim));
      bar.update(Math.min(i + batchSize, items.length));
    }
  });
  bar.stop();
  return out;
}

/** Step 2: features -> pseudo-labels (cluster/pipeline.ts), with a progress bar; `cams` [N] for the same-camera penalty. */
export async function clusterFeatures(f: Float32Array, N: number, D: number, c: TrainConfig, reporter: Reporter, cams: ArrayLike<number>): Promise<PseudoLabels> {
  const bar = reporter.phase('clustering', 3, 'steps');
  const k1 = Math.min(c.k1, N);
  const step = { knn: 1, jaccard: 2, dbscan: 3 };
  const { pseudo } = await clusterPipeline(f, N, D, {
    k1, k2: Math.min(c.k2, k1), eps: c.eps, minSamples: c.minSamples, threads: c.threads || undefined,
    sameCamera: { cams: Int32Array.from(cams), penalty: c.sameCameraPenalty },
    onStage: (done) => bar.update(step[done], `${done} done`),
  });
  bar.stop();
  return pseudo;
}

export interface Evaluation {
  result: MarketResult;
  /** Query and gallery features [Q, D], [G, D] (for the retrieval pictures). */
  qf: Float32Array;
  gf: Float32Array;
}

/** Step 5: mAP and CMC of the current model on query vs gallery. */
export function evaluateModel(model: ReidModel, batcher: ImageBatcher, data: ReidData, c: TrainConfig, reporter: Reporter): Evaluation {
  const qf = extractFeatures(model, batcher, data.query, 64, reporter, 'features: query');
  const gf = extractFeatures(model, batcher, data.gallery, 64, reporter, 'features: gallery');
  const result = evaluate(qf, gf, model.featureDim, labelsOf(data.query), labelsOf(data.gallery), { rerank: c.rerank });
  return { result, qf, gf };
}

export async function runTraining(c: TrainConfig, opts: RunOptions): Promise<RunResult> {
  const { reporter } = opts;
  const resumeFrom = opts.resume ? (typeof opts.resume === 'string' ? opts.resume : join(c.out, 'last.safetensors')) : undefined;
  const stale = prepareRunFolder(c.out, c, { resumeFrom, overwrite: opts.overwrite });
  if (stale.length) reporter.line(`removed ${stale.length} temporary file(s) of an interrupted write in ${c.out}: ${stale.join(', ')}`);
  const rng = new Rng(c.seed);
  const data = await loadReidData(c, reporter);
  const batcher = new ImageBatcher(data, c, rng);
  batcher.checkImages(data, reporter);
  const model = buildModel(c, rng, reporter);
  const params = model.parameters().filter((p) => p.requiresGrad);
  const optimizer = new Adam(params, { lr: c.lr, weightDecay: c.weightDecay });
  const scheduler = new StepLR(optimizer, c.lr, c.stepSize, c.gamma);
  let history: EpochMetrics[] = [];
  let start: StartMetrics | null = null;
  let bestMAP = -1;
  let startEpoch = 0;
  const lastPath = join(c.out, 'last.safetensors');
  const bestPath = join(c.out, 'best.safetensors');
  const metricsPath = join(c.out, 'metrics.jsonl');
  const stoppedBeforeEpoch1 = (): RunResult => {
    reporter.line('stopped before the first epoch; nothing was saved.');
    return { history, start, final: null, model, data, batcher, stoppedEarly: true, interrupted: true, collapsed: false };
  };

  if (opts.resume) {
    const path = resumeFrom!;
    const ck = readCheckpoint(path);
    assertResumable(ck.state.config, c, path);
    const report = model.loadStateDict(ck.model, false);
    if (report.missing.length || report.unexpected.length) {
      throw new TrainingError(`--resume ${path}: the checkpoint does not fit this model (missing ${report.missing.slice(0, 3)}, unexpected ${report.unexpected.slice(0, 3)}); resume with the same --profile and MLA flags`);
    }
    restoreOptimizer(optimizer, model, ck.optim, path);
    rng.setState(ck.state.rng);
    history = ck.state.history;
    start = ck.state.start;
    bestMAP = ck.state.bestMAP;
    startEpoch = ck.state.epoch;
    // metrics.jsonl is rewritten from the checkpoint: an epoch logged after it (kill -9 before the
    // save) is dropped, so the resumed run never logs an epoch twice
    writeFileSync(metricsPath, [start, ...history].filter((m) => m !== null).map((m) => JSON.stringify(m) + '\n').join(''));
    reporter.line(`resumed from ${path} after epoch ${startEpoch}`);
  } else {
    writeFileSync(metricsPath, '');
    await yieldToEvents();
    if (opts.stopRequested?.()) return stoppedBeforeEpoch1();
    // 0. evaluate before training
    if (c.evalAtStart) {
      const t0 = performance.now();
      const r = evaluateModel(model, batcher, data, c, reporter).result;
      start = { epoch: 0, mAP: r.mAP, rank1: r.cmc[0], rank5: r.cmc[4], rank10: r.cmc[9], seconds: seconds(t0) };
      reporter.line(`before training | mAP ${(100 * r.mAP).toFixed(1)}% | rank-1 ${(100 * r.cmc[0]).toFixed(1)}% | ${start.seconds.toFixed(0)} s`);
      appendFileSync(metricsPath, JSON.stringify(start) + '\n');
      await yieldToEvents();
      if (opts.stopRequested?.()) return stoppedBeforeEpoch1();
    }
  }

  const N = data.train.length;
  let stoppedEarly = false;
  let interrupted = false;
  let collapsed = false;
  let epochsThisRun = 0;
  const stopHere = (epoch: number, where: string) => {
    stoppedEarly = interrupted = true;
    reporter.line(`stopped ${where} of epoch ${epoch + 1}; ` + (epoch > 0
      ? `the last finished epoch (${epoch}) is in ${lastPath}. Continue with --resume${c.out === 'runs/latest' ? '' : ` --out ${c.out}`}.`
      : 'no epoch had finished, nothing was saved.'));
  };
  let final: Evaluation | null = null;

  const cams = data.train.map((it) => it.camid);
  for (let epoch = startEpoch; epoch < c.epochs; epoch++) {
    if (opts.stopAfterEpochs !== undefined && epochsThisRun >= opts.stopAfterEpochs) {
      stoppedEarly = true;
      break;
    }
    const t0 = performance.now();
    const lr = scheduler.setEpoch(epoch);
    // 1. extract
    const feats = extractFeatures(model, batcher, data.train, 64, reporter, `epoch ${epoch + 1}: features`);
    const tExtract = performance.now();
    const badFeature = nonFiniteAt(feats);
    if (badFeature >= 0) {
      throw new DivergedError(`epoch ${epoch + 1}: the features of ${data.train[Math.floor(badFeature / model.featureDim)].path} are not finite. ` +
        `Training stopped; nothing of this epoch was saved (the last good checkpoint: ${existsSync(lastPath) ? lastPath : 'none yet'}). Try a lower --lr.`);
    }
    await yieldToEvents();
    if (opts.stopRequested?.()) {
      stopHere(epoch, 'after the feature extraction');
      break;
    }
    // 2. cluster
    const pl = c.labels === 'ground-truth'
      ? pseudoLabels(data.train.map((it) => it.pid))
      : await clusterFeatures(c.clusterOn === 'camera-centred' ? cameraCentred(feats, N, model.featureDim, cams) : feats, N, model.featureDim, c, reporter, cams);
    const tCluster = performance.now();
    if (opts.stopRequested?.()) {
      stopHere(epoch, 'after the clustering');
      break;
    }
    collapsed = pl.K < 2;
    const metrics: EpochMetrics = { epoch: epoch + 1, clusters: pl.K, outliers: pl.outliers, loss: NaN, lr, seconds: 0 };
    const phases = { extract: seconds(t0, tExtract), cluster: seconds(tExtract, tCluster), train: 0, eval: 0 };
    metrics.phases = phases;
    if (pl.K === 0) {
      reporter.line(`epoch ${epoch + 1}: DBSCAN found no cluster (eps ${c.eps}, min_samples ${c.minSamples}); epoch skipped. ` +
        'If this persists, raise --eps (or lower minSamples in a --config file).');
    } else {
      // 3. memory
      const memory = ClusterMemory.init(feats, N, model.featureDim, pl.labels, pl.K,
        { init: c.memoryInit, mode: c.memoryUpdate, momentum: c.momentum, rng });
      // 4. train
      const trained = await trainOnClusters({ model, optimizer, batcher, data, labels: pl.labels, kept: pl.kept.length, memory, c, rng, reporter, epoch,
        stopRequested: opts.stopRequested, lastPath });
      metrics.loss = trained.loss;
      phases.train = seconds(tCluster);
      if (trained.stopped) {
        stopHere(epoch, `after iteration ${trained.iterations}`);
        break;
      }
    }
    // 5. evaluate
    const isLast = epoch + 1 === c.epochs;
    if ((epoch + 1) % c.evalEvery === 0 || isLast) {
      const tEval = performance.now();
      final = evaluateModel(model, batcher, data, c, reporter);
      phases.eval = seconds(tEval);
      const r = final.result;
      Object.assign(metrics, { mAP: r.mAP, rank1: r.cmc[0], rank5: r.cmc[4], rank10: r.cmc[9] });
    }
    metrics.seconds = (performance.now() - t0) / 1000;
    history.push(metrics);
    reporter.line(formatEpoch(metrics, c.epochs));
    // 6. checkpoint (saveCheckpoint refuses a non-finite model), best as an atomic copy, then the
    // metrics line: a crash between the two leaves the line out, never in twice
    const improved = metrics.mAP !== undefined && metrics.mAP > bestMAP;
    if (improved) bestMAP = metrics.mAP!;
    saveCheckpoint(lastPath, model, optimizer, rng, { epoch: epoch + 1, config: c, history, start, bestMAP });
    if (improved) writeFileAtomic(bestPath, readFileSync(lastPath));
    appendFileSync(metricsPath, JSON.stringify(metrics) + '\n');
    epochsThisRun++;
  }
  return { history, start, final, model, data, batcher, stoppedEarly, interrupted, collapsed };
}

interface EpochTraining {
  model: ReidModel;
  optimizer: Adam;
  batcher: ImageBatcher;
  data: ReidData;
  /** Pseudo-label of every training image (−1: outlier) and how many are clustered. */
  labels: Int32Array;
  kept: number;
  memory: ClusterMemory;
  c: TrainConfig;
  rng: Rng;
  reporter: Reporter;
  epoch: number;
  stopRequested?: () => boolean;
  lastPath: string;
}

/** Step 4: the epoch's iterations on P x K batches of clustered images; mean loss, or stopped. */
async function trainOnClusters(t: EpochTraining): Promise<{ loss: number; stopped: boolean; iterations: number }> {
  const { model, optimizer, memory, c, rng } = t;
  const batchSize = c.P * c.K;
  const sampler = new PKSampler(t.labels, Int32Array.from(t.data.train, (it) => it.camid), c.K);
  const order = sampler.epoch(rng).flat();
  const iters = c.iters > 0 ? c.iters : Math.max(1, Math.floor(t.kept / batchSize));
  model.train();
  const bar = t.reporter.phase(`epoch ${t.epoch + 1}: train`, iters, 'it');
  let lossSum = 0;
  let done = 0;
  let cursor = 0;
  let stopped = false;
  const named = model.namedParameters().filter(([, p]) => p.requiresGrad);
  const diverged = (it: number, what: string) => new DivergedError(`epoch ${t.epoch + 1}, iteration ${it + 1}: ${what}. Training stopped; ` +
    `nothing of this epoch was saved (the last good checkpoint: ${existsSync(t.lastPath) ? t.lastPath : 'none yet'}). Try a lower --lr.`);
  for (let it = 0; it < iters; it++) {
    await yieldToEvents();
    if (t.stopRequested?.()) {
      stopped = true;
      break;
    }
    if (cursor + batchSize > order.length) {
      order.splice(0, order.length, ...sampler.epoch(rng).flat());
      cursor = 0;
    }
    const idx = order.slice(cursor, cursor + batchSize);
    cursor += batchSize;
    const targets = Int32Array.from(idx, (i) => t.labels[i]);
    // one iteration's activations and gradients are recycled by the next (core/tensor.ts)
    const loss = recycling(() => trainingStep(model, optimizer, memory, c.tau, named, t.batcher.batch(idx.map((i) => t.data.train[i]), 'train'), targets,
      (f) => diverged(it, f.what === 'feature' ? `the features of ${t.data.train[idx[f.row]].path} are not finite`
        : f.what === 'loss' ? `the loss is ${f.value}`
          : f.what === 'gradient' ? `the gradient of '${f.name}' is not finite` : `the parameter '${f.name}' is not finite after the update`)));
    lossSum += loss;
    done++;
    bar.update(it + 1, `loss ${(lossSum / done).toFixed(3)}`);
  }
  bar.stop();
  return { loss: done > 0 ? lossSum / done : NaN, stopped, iterations: done };
}

/** Seconds from `from` to `to`, to one decimal. */
function seconds(from: number, to = performance.now()): number {
  return Math.round((to - from) / 100) / 10;
}

export function formatEpoch(m: EpochMetrics, epochs: number): string {
  const parts = [
    `epoch ${String(m.epoch).padStart(String(epochs).length)}/${epochs}`,
    `clusters ${m.clusters}`,
    `outliers ${m.outliers}`,
    `loss ${Number.isNaN(m.loss) ? '-' : m.loss.toFixed(4)}`,
    `lr ${m.lr.toExponential(2)}`,
  ];
  if (m.mAP !== undefined) parts.push(`mAP ${(100 * m.mAP).toFixed(1)}%`, `rank-1 ${(100 * m.rank1!).toFixed(1)}%`);
  const p = m.phases;
  parts.push(`${m.seconds.toFixed(0)} s` + (p ? ` (extract ${p.extract.toFixed(0)}, cluster ${p.cluster.toFixed(0)}, train ${p.train.toFixed(0)}, eval ${p.eval.toFixed(0)})` : ''));
  return parts.join(' | ');
}
