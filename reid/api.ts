/**
 * The library entry point (`import { ... } from 'mla-reid'`, package.json "exports"): build or load
 * a model, extract re-ID features from images, evaluate on a data set, or train, in a few lines.
 * The README's "Library API" section shows (and spec/api.test.ts runs) an example.
 *
 *   createModel({ profile?, config?, seed? })  -> ReidHandle   a new network (random, or config.pretrained weights)
 *   loadModel(checkpoint)                      -> ReidHandle   a trained one (a checkpoint of `npm run train`)
 *   extractFeatures(handle, images)            -> { features: Float32Array [n, dim], dim }   L2-normalised
 *   evaluate(handle, dataset)                  -> { mAP, rank1, rank5, rank10, cmc }  (Market-1501 protocol)
 *   train(config)                              -> the result of the training loop (reid/train/loop.ts)
 *
 * Images are file paths (JPEG / PNG) or decoded RgbImage objects; they are resized to the model's
 * input size and normalised exactly as the trainer's evaluation does (reid/data/transforms.ts).
 * The TypeScript sources are the package: run code that imports it with tsx (`node --import tsx`).
 */
import { Tensor } from '../core/tensor.ts';
import { noGrad } from '../core/autograd.ts';
import { Rng } from '../core/random.ts';
import { PROFILES, mergeConfig, type ProfileName, type TrainConfig } from './train/config.ts';
import { readCheckpoint } from './train/checkpoint.ts';
import { buildModel, type ReidModel } from './train/model.ts';
import { runTraining, type RunResult } from './train/loop.ts';
import { silentReporter, type Reporter } from './train/progress.ts';
import { loadDataset, type DatasetFormat, type ReidDataset } from './data/datasets.ts';
import { readImage, resizeBilinear, type RgbImage } from './data/image.ts';
import { testTransform } from './data/transforms.ts';
import { evaluate as evaluateFeatures, labelsOf } from './eval/evaluate.ts';

export { PROFILES, mergeConfig, loadDataset, readCheckpoint };
export type { TrainConfig, ProfileName, ReidDataset, DatasetFormat, RgbImage, ReidModel, RunResult, Reporter };

/** A model with the config it was built for (input size, architecture). */
export interface ReidHandle {
  model: ReidModel;
  config: TrainConfig;
  /** Length of one feature vector. */
  dim: number;
}

export interface ReidScores {
  mAP: number;
  rank1: number;
  rank5: number;
  rank10: number;
  /** cmc[k]: share of queries with a true match in the top k+1. */
  cmc: Float64Array;
}

/**
 * A new network for a profile ('cpu' by default) with `config` overrides; `config.pretrained`
 * loads ImageNet weights (README "Pretrained ImageNet weights"). Initialised from `seed` (default 1).
 */
export function createModel(opts: { profile?: ProfileName; config?: Record<string, unknown>; seed?: number } = {}): ReidHandle {
  const base = PROFILES[opts.profile ?? 'cpu'];
  if (!base) throw new Error(`createModel: unknown profile '${opts.profile}' (profiles: ${Object.keys(PROFILES).join(', ')})`);
  const config = mergeConfig(base, { ...opts.config, seed: opts.seed ?? opts.config?.seed }, 'createModel');
  const model = buildModel(config, new Rng(config.seed), silentReporter());
  model.eval();
  return { model, config, dim: model.featureDim };
}

/** The trained network of a checkpoint of `npm run train` (last.safetensors / best.safetensors). */
export function loadModel(checkpoint: string): ReidHandle {
  const ck = readCheckpoint(checkpoint);
  const config = { ...ck.state.config, pretrained: null };
  const model = buildModel(config, new Rng(config.seed), silentReporter());
  model.loadStateDict(ck.model, true);
  model.eval();
  return { model, config, dim: model.featureDim };
}

/**
 * L2-normalised features of `images` (paths or RgbImage), one row of `dim` values each, in order.
 * A file that cannot be decoded throws an error naming it.
 */
export async function extractFeatures(h: ReidHandle, images: readonly (string | RgbImage)[], opts: { batchSize?: number } = {}): Promise<{ features: Float32Array; dim: number }> {
  const { height: H, width: W } = h.config;
  const per = 3 * H * W;
  const batchSize = opts.batchSize ?? 64;
  const features = new Float32Array(images.length * h.dim);
  h.model.eval();
  for (let i = 0; i < images.length; i += batchSize) {
    const chunk = images.slice(i, i + batchSize);
    const x = new Float32Array(chunk.length * per);
    chunk.forEach((img, j) => testTransform(resizeBilinear(typeof img === 'string' ? readImage(img) : img, H, W), x, j * per));
    const f = noGrad(() => h.model.forward(new Tensor<['N', 'C', 'H', 'W']>(x, [chunk.length, 3, H, W])));
    features.set(f.data, i * h.dim);
    await new Promise<void>((resolve) => setImmediate(resolve)); // let the caller's events run between batches
  }
  return { features, dim: h.dim };
}

/**
 * mAP and CMC of the model on a data set's query and gallery (Market-1501 protocol: same identity
 * and camera removed from each query's gallery). `dataset`: a root folder (layout detected, or
 * `format`) or a loaded ReidDataset.
 */
export async function evaluate(h: ReidHandle, dataset: string | ReidDataset, opts: { format?: DatasetFormat; rerank?: boolean } = {}): Promise<ReidScores> {
  const ds = typeof dataset === 'string' ? loadDataset(dataset, opts.format ?? 'auto') : dataset;
  const qf = (await extractFeatures(h, ds.query.map((it) => it.path))).features;
  const gf = (await extractFeatures(h, ds.gallery.map((it) => it.path))).features;
  const r = evaluateFeatures(qf, gf, h.dim, labelsOf(ds.query), labelsOf(ds.gallery), { rerank: opts.rerank ?? h.config.rerank });
  return { mAP: r.mAP, rank1: r.cmc[0], rank5: r.cmc[4], rank10: r.cmc[9], cmc: r.cmc };
}

/**
 * Train as `npm run train` does (the cpu profile with `config` overrides; `out` must be new or
 * unused unless `overwrite`). Progress goes to `reporter` (default: silent).
 */
export async function train(config: Record<string, unknown> = {}, opts: { profile?: ProfileName; reporter?: Reporter; overwrite?: boolean } = {}): Promise<RunResult> {
  const c = mergeConfig(PROFILES[opts.profile ?? 'cpu'], config, 'train');
  return runTraining(c, { reporter: opts.reporter ?? silentReporter(), overwrite: opts.overwrite });
}
