/**
 * Training configuration: one plain object, every default commented with its source (nanoGPT's
 * style). Profiles set groups of values; a JSON file and then command-line flags override them.
 */

import type { SyntheticOptions } from '../data/synthetic.ts';

export type ProfileName = 'cpu' | 'paper' | 'cluster-contrast';
export type DatasetName = 'synthetic' | 'market1501' | 'dukemtmc' | 'msmt17' | 'personx' | 'folder';

export interface MlaConfig {
  pla: boolean;
  hla: boolean;
  dla: boolean;
  /** 'all': every layer4 bottleneck (BoTNet's placement, DESIGN.md); 'last': the final one only. */
  blocks: 'all' | 'last';
}

export interface TrainConfig {
  profile: ProfileName;
  dataset: DatasetName;
  /** Dataset root; for 'synthetic' it is generated there when missing. */
  dataDir: string;
  /** Options of the generated set when dataset is 'synthetic' (reid/data/synthetic.ts documents each). */
  synthetic: Partial<SyntheticOptions>;
  out: string;
  seed: number;
  backend: 'cpu' | 'gpu' | 'webasm' | 'gpujs-cpu';
  // --- model ---
  /** 'resnet50' (torchvision layout), or the CPU-sized variants of the same layout: 'small' (width 16), 'tiny' (width 8). */
  arch: 'resnet50' | 'small' | 'tiny';
  height: number;
  width: number;
  pooling: 'avg' | 'gem';
  mla: MlaConfig;
  pretrained: string | null;
  // --- optimisation ---
  epochs: number;
  /** P pseudo-identities x K images per batch. */
  P: number;
  K: number;
  /** Iterations per epoch; 0 = one pass over the clustered images (N_kept / (P·K)). */
  iters: number;
  lr: number;
  weightDecay: number;
  stepSize: number;
  gamma: number;
  // --- unsupervised core ---
  tau: number;
  eps: number;
  minSamples: number;
  k1: number;
  k2: number;
  /**
   * 'pseudo': DBSCAN pseudo-labels (the paper). 'ground-truth': the data set's identities instead,
   * a supervised upper bound for diagnosis, not the unsupervised method.
   */
  labels: 'pseudo' | 'ground-truth';
  /**
   * The features DBSCAN clusters: 'raw' (the paper), or 'camera-centred' (each camera's mean
   * removed first; cluster/camera-centre.ts). The memory and the loss always use the raw features.
   */
  clusterOn: 'raw' | 'camera-centred';
  /**
   * λ added to the squared distance of two images of the same camera when the k-NN lists of the
   * Jaccard distance are searched (cluster/knn-block.ts): other cameras' images come first. 0 = the paper.
   */
  sameCameraPenalty: number;
  memoryInit: 'random' | 'centroid';
  memoryUpdate: 'hard' | 'momentum';
  momentum: number;
  // --- evaluation ---
  /** Evaluate once before the first epoch, the baseline every later mAP is compared with. */
  evalAtStart: boolean;
  evalEvery: number;
  rerank: boolean;
  /** Worker threads for k-NN/Jaccard (0 = one per core). */
  threads: number;
}

/** Values shared by every profile; the paper (section 4.2) and DESIGN.md are the sources. */
const COMMON: Omit<TrainConfig, 'profile' | 'arch' | 'height' | 'width' | 'epochs' | 'P' | 'K' | 'iters' | 'lr' | 'stepSize' | 'eps'> = {
  dataset: 'synthetic',
  dataDir: 'data/synthetic-market',
  synthetic: {},
  out: 'runs/latest',
  seed: 1,
  backend: 'cpu',
  pooling: 'avg', // DESIGN.md: global average pooling (GeM optional)
  mla: { pla: true, hla: true, dla: true, blocks: 'all' }, // the paper's full model ("ALL")
  pretrained: null,
  weightDecay: 5e-4, // paper 4.2
  gamma: 0.1, // paper 4.2: lr x0.1 every 20 epochs
  tau: 0.05, // paper eq. (1)
  minSamples: 4, // DESIGN.md: DBSCAN min_samples 4
  k1: 30, // Cluster Contrast: k-reciprocal k1 = 30
  k2: 6, // Cluster Contrast: k2 = 6
  labels: 'pseudo', // the paper: unsupervised
  clusterOn: 'raw', // the paper
  sameCameraPenalty: 0, // the paper
  memoryInit: 'random', // paper 3: one random member per cluster
  memoryUpdate: 'hard', // paper 3: batch-hard update
  momentum: 0.1, // DESIGN.md: momentum 0.1 weighting the old row
  evalAtStart: true, // this project: every run reports how far it moved from its starting point
  evalEvery: 5,
  rerank: false,
  threads: 0,
};

export const PROFILES: Record<ProfileName, TrainConfig> = {
  /**
   * The CPU-sized default for the embedded synthetic set (this project's choice, measured on it; see
   * README "Results"): about 11 minutes on 2 cores.
   */
  cpu: {
    ...COMMON,
    profile: 'cpu',
    arch: 'tiny', // ResNet layout, 1 bottleneck per stage, width 8 (bench/resnet.ts: ~0.6 s per batch-32 step)
    height: 128,
    width: 64,
    epochs: 8,
    P: 8,
    K: 4, // ~12 images per synthetic identity: 4 per pseudo-identity keeps P = 8 of them in a batch
    iters: 30, // fixed, as Cluster Contrast's 400: most images are DBSCAN outliers early on
    lr: 1e-3, // from scratch (no ImageNet weights): larger than the paper's fine-tuning rate
    stepSize: 6,
    eps: 0.6, // with the penalty below, ~250-350 of 960 images clustered (~100-200 at 0.5, at higher identity purity)
    k1: 8, // k-reciprocal neighbourhoods must fit ~12 images per identity (Market has ~17, k1 = 30)
    k2: 4,
    // not in the paper: from scratch, raw features cluster by camera (README "Diagnosis"); ALL, seed 1,
    // mAP at epochs 0/4/8: 2.9 -> 5.7 -> 6.3% camera-centred, 2.9 -> 2.9 -> 3.9% raw
    clusterOn: 'camera-centred',
    // not in the paper (in the spirit of CA-Jaccard, Chen et al. CVPR 2024): even camera-centred clusters
    // are mostly one camera (purity 0.6-0.75 at initialisation, 0.9 after training); other cameras'
    // neighbours first brings that to ~0.4-0.45 at the same identity purity (npm run diagnose).
    // ALL, seed 3, mAP after 8 epochs: 2.8% (eps 0.5, no penalty), 3.9% (eps 0.6), 7.2% (eps 0.6, penalty 0.4)
    sameCameraPenalty: 0.4,
    evalEvery: 4,
  },
  /** The paper's section 4.2. */
  paper: {
    ...COMMON,
    profile: 'paper',
    arch: 'resnet50',
    height: 256,
    width: 128,
    epochs: 50,
    P: 8,
    K: 8,
    iters: 400, // Cluster Contrast's iterations per epoch
    lr: 1.6e-4,
    stepSize: 20,
    eps: 0.4,
  },
  /** Cluster Contrast (Dai et al. 2021) defaults. */
  'cluster-contrast': {
    ...COMMON,
    profile: 'cluster-contrast',
    arch: 'resnet50',
    height: 256,
    width: 128,
    epochs: 50,
    P: 16,
    K: 16,
    iters: 400,
    lr: 3.5e-4,
    stepSize: 20,
    eps: 0.6,
    memoryInit: 'centroid',
    memoryUpdate: 'momentum',
    momentum: 0.2,
  },
};

/** Merge a partial config (from JSON or flags) over a base, checking every key and value. */
export function mergeConfig(base: TrainConfig, over: Record<string, unknown>, source: string): TrainConfig {
  const out: TrainConfig = structuredClone(base);
  for (const [key, value] of Object.entries(over)) {
    if (value === undefined) continue;
    if (!(key in out)) throw new Error(`${source}: unknown setting '${key}' (known: ${Object.keys(out).join(', ')})`);
    const current = (out as any)[key];
    if (key === 'mla' || key === 'synthetic') {
      (out as any)[key] = { ...(out as any)[key], ...(value as object) };
      continue;
    }
    if (current !== null && typeof current !== typeof value) {
      throw new Error(`${source}: setting '${key}' must be a ${typeof current}, got ${JSON.stringify(value)}`);
    }
    (out as any)[key] = value;
  }
  validateConfig(out, source);
  return out;
}

export function validateConfig(c: TrainConfig, source: string): void {
  const positiveInt = ['epochs', 'P', 'K', 'height', 'width', 'k1', 'k2', 'minSamples', 'evalEvery', 'stepSize'] as const;
  for (const k of positiveInt) {
    if (!Number.isInteger(c[k]) || c[k] < 1) throw new Error(`${source}: '${k}' must be a positive integer, got ${c[k]}`);
  }
  for (const k of ['lr', 'tau', 'eps'] as const) {
    if (!(c[k] > 0)) throw new Error(`${source}: '${k}' must be > 0, got ${c[k]}`);
  }
  if (!(c.sameCameraPenalty >= 0 && Number.isFinite(c.sameCameraPenalty))) throw new Error(`${source}: 'sameCameraPenalty' must be a number >= 0, got ${c.sameCameraPenalty}`);
  if (!(c.momentum >= 0 && c.momentum < 1)) throw new Error(`${source}: 'momentum' must be in [0, 1), got ${c.momentum}`);
  if (!['cpu', 'gpu', 'webasm', 'gpujs-cpu'].includes(c.backend)) throw new Error(`${source}: 'backend' must be cpu, gpu, webasm or gpujs-cpu, got '${c.backend}'`);
  if (!['all', 'last'].includes(c.mla.blocks)) throw new Error(`${source}: '--mla-blocks' must be 'all' or 'last', got '${c.mla.blocks}'`);
  if (!['pseudo', 'ground-truth'].includes(c.labels)) throw new Error(`${source}: 'labels' must be 'pseudo' or 'ground-truth', got '${c.labels}'`);
  if (!['raw', 'camera-centred'].includes(c.clusterOn)) throw new Error(`${source}: 'clusterOn' must be 'raw' or 'camera-centred', got '${c.clusterOn}'`);
  if (c.K < 2) throw new Error(`${source}: 'K' (images per pseudo-identity) must be at least 2, got ${c.K}`);
}
