/**
 * Training configuration: one plain object, every default commented with its source (nanoGPT's
 * style). Profiles set groups of values; a JSON file and then command-line flags override them.
 */

import { DEFAULT_SYNTHETIC, checkSyntheticOptions, type SyntheticOptions } from '../data/synthetic.ts';

/** `--backend` (reid/train/backend.ts selects them): wasm (default), cpu, gpu.js's three modes, the device-resident webgpu. */
export const BACKENDS = ['wasm', 'cpu', 'gpu', 'webasm', 'gpujs-cpu', 'webgpu'] as const;
export type BackendName = (typeof BACKENDS)[number];

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
  backend: BackendName;
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
  /**
   * A corrupt or unreadable image (found when every image is decoded, strictly, before training):
   * 'stop' the run naming its path (default), or 'skip' it with a warning (`--skip-corrupt`).
   */
  onCorrupt: 'stop' | 'skip';
}

/** Values shared by every profile; the paper (section 4.2) and DESIGN.md are the sources. */
const COMMON: Omit<TrainConfig, 'profile' | 'arch' | 'height' | 'width' | 'epochs' | 'P' | 'K' | 'iters' | 'lr' | 'stepSize' | 'eps'> = {
  dataset: 'synthetic',
  dataDir: 'data/synthetic-market',
  synthetic: {},
  out: 'runs/latest',
  seed: 1,
  backend: 'wasm', // core/wasm: WebAssembly-SIMD kernels where they load (else cpu, said at start-up)
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
  onCorrupt: 'stop', // this project: a broken image is the user's to fix, not to be silently left out
};

export const PROFILES: Record<ProfileName, TrainConfig> = {
  /**
   * The CPU-sized default for the embedded synthetic set (this project's choice, measured on it; see
   * README "Results"): about 10 minutes on 2 cores on the wasm backend (fresh clone: 10 min 2 s).
   */
  cpu: {
    ...COMMON,
    profile: 'cpu',
    arch: 'tiny', // ResNet layout, 1 bottleneck per stage, width 8 (~7 s per epoch on the wasm backend)
    height: 128,
    width: 64,
    // many clustering rounds (issue 14: a PyTorch port reached 82% mAP after 80 x 30, 57% after 8 x 300);
    // 62 x 30 fits the 15-minute budget on the wasm backend. Measured (ALL, 55 epochs, lr drop at 50):
    // mAP at epoch 11/22/33/44: seed 1 6.7/20.4/38.5/53.0%, seed 2 11.3/27.7/41.2/54.6%; 8 epochs (the
    // previous default, the most the cpu backend affords in the budget): 6.7% (seed 1)
    // 50 epochs (drop at 45) with lr 1e-3, mAP after 50: seed 1 56.2%, seed 3 31.2%, seed 4 66.7%; with lr 2e-3
    // 78.9 / 73.7 / 56.5 / 71.6 / 70.9% (seeds 1-5). 62 epochs (drop at 57), lr 2e-3: seed 1 82.4%, seed 3 64.6%
    // (README "Results" for every seed)
    epochs: 62,
    P: 8,
    K: 4, // ~12 images per synthetic identity: 4 per pseudo-identity keeps P = 8 of them in a batch
    iters: 30, // fixed, as Cluster Contrast's 400: most images are DBSCAN outliers early on
    // from scratch (no ImageNet weights): larger than the paper's fine-tuning rate. ALL, seed 1, mAP at
    // epochs 25 / 50: lr 1e-3 26.6 / 56.2 %, 2e-3 60.0 / 78.9 %, 4e-3 50.1 % / (stopped); seed 3 at 25: 10.2 vs 30.2 %
    lr: 2e-3,
    stepSize: 57, // lr x0.1 for the last 5 epochs; an early drop (epoch 30 of 40) slowed the climb: 49.4 -> 53.0% in 10 epochs
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
    evalEvery: 25, // before training, halfway and at the end: each evaluation costs ~5 s
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

/** How each key of TrainConfig is checked; a key missing here is a programming error (tested). */
type Check = (v: unknown) => string | null;
const oneOf = (...xs: string[]): Check => (v) => (typeof v === 'string' && xs.includes(v) ? null : `must be one of ${xs.join(', ')}`);
const int = (min: number): Check => (v) => (typeof v === 'number' && Number.isInteger(v) && v >= min ? null : `must be an integer >= ${min}`);
const positive: Check = (v) => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? null : 'must be a finite number > 0');
const nonNegative: Check = (v) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? null : 'must be a finite number >= 0');
const bool: Check = (v) => (typeof v === 'boolean' ? null : 'must be true or false');
const path: Check = (v) => (typeof v === 'string' && v.trim() !== '' ? null : 'must be a non-empty path');
const CHECKS: Record<Exclude<keyof TrainConfig, 'mla' | 'synthetic'>, Check> = {
  profile: oneOf('cpu', 'paper', 'cluster-contrast'),
  dataset: oneOf('synthetic', 'market1501', 'dukemtmc', 'msmt17', 'personx', 'folder'),
  dataDir: path,
  out: path,
  seed: int(0),
  backend: oneOf(...BACKENDS),
  arch: oneOf('resnet50', 'small', 'tiny'),
  height: int(1),
  width: int(1),
  pooling: oneOf('avg', 'gem'),
  pretrained: (v) => (v === null ? null : path(v)),
  epochs: int(1),
  P: int(1),
  K: int(2),
  iters: int(0),
  lr: positive,
  weightDecay: nonNegative,
  stepSize: int(1),
  gamma: positive,
  tau: positive,
  eps: positive,
  minSamples: int(1),
  k1: int(1),
  k2: int(1),
  labels: oneOf('pseudo', 'ground-truth'),
  clusterOn: oneOf('raw', 'camera-centred'),
  sameCameraPenalty: nonNegative,
  memoryInit: oneOf('random', 'centroid'),
  memoryUpdate: oneOf('hard', 'momentum'),
  momentum: (v) => (typeof v === 'number' && v >= 0 && v < 1 ? null : 'must be a number in [0, 1)'),
  evalAtStart: bool,
  evalEvery: int(1),
  rerank: bool,
  threads: int(0),
  onCorrupt: oneOf('stop', 'skip'),
};
const MLA_CHECKS: Record<keyof MlaConfig, Check> = { pla: bool, hla: bool, dla: bool, blocks: oneOf('all', 'last') };
const finiteNumber: Check = (v) => (typeof v === 'number' && Number.isFinite(v) ? null : 'must be a finite number');
/** Known keys of `synthetic` (their ranges: checkSyntheticOptions in reid/data/synthetic.ts). */
const SYNTHETIC_CHECKS: Record<string, Check> = Object.fromEntries(Object.keys(DEFAULT_SYNTHETIC).map((k) => [k, finiteNumber]));

/** The flag that sets a config key, where there is one (for messages). */
export const FLAG_OF: Partial<Record<string, string>> = {
  dataset: '--dataset', dataDir: '--data-dir', out: '--out', seed: '--seed', backend: '--backend', arch: '--arch',
  pretrained: '--pretrained', epochs: '--epochs', iters: '--iters', lr: '--lr', eps: '--eps', evalEvery: '--eval-every',
  rerank: '--rerank', threads: '--threads', labels: '--supervised', clusterOn: '--cluster-on', sameCameraPenalty: '--same-camera-penalty',
  profile: '--profile', onCorrupt: '--skip-corrupt', 'synthetic.confound': '--confound', 'mla.pla': '--pla/--no-pla',
  'mla.hla': '--hla/--no-hla', 'mla.dla': '--dla/--no-dla', 'mla.blocks': '--mla-blocks',
};

/** "'lr' (--lr)": how a message names a setting. */
export function settingName(key: string): string {
  return FLAG_OF[key] ? `'${key}' (${FLAG_OF[key]})` : `'${key}'`;
}

function checkNested(source: string, key: 'mla' | 'synthetic', value: unknown, checks: Record<string, Check>): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error(`${source}: setting '${key}' must be an object, got ${JSON.stringify(value)}`);
  for (const [k, v] of Object.entries(value)) {
    const check = checks[k];
    if (!check) throw new Error(`${source}: unknown setting '${key}.${k}' (known: ${Object.keys(checks).map((n) => `${key}.${n}`).join(', ')})`);
    const problem = check(v);
    if (problem) throw new Error(`${source}: setting ${settingName(`${key}.${k}`)} ${problem}, got ${JSON.stringify(v)}`);
  }
}

/** Merge a partial config (from JSON or flags) over a base, checking every key and value, nested ones too. */
export function mergeConfig(base: TrainConfig, over: Record<string, unknown>, source: string): TrainConfig {
  if (over === null || typeof over !== 'object' || Array.isArray(over)) throw new Error(`${source}: expected an object of settings, got ${JSON.stringify(over)}`);
  const out: TrainConfig = structuredClone(base);
  for (const [key, value] of Object.entries(over)) {
    if (value === undefined) continue;
    if (key === 'mla') {
      checkNested(source, key, value, MLA_CHECKS);
      out.mla = { ...out.mla, ...(value as Partial<MlaConfig>) };
      continue;
    }
    if (key === 'synthetic') {
      checkNested(source, key, value, SYNTHETIC_CHECKS);
      out.synthetic = { ...out.synthetic, ...(value as Partial<SyntheticOptions>) };
      continue;
    }
    if (!(key in CHECKS)) throw new Error(`${source}: unknown setting '${key}' (known: ${[...Object.keys(CHECKS), 'mla', 'synthetic'].join(', ')})`);
    (out as any)[key] = value;
  }
  validateConfig(out, source);
  return out;
}

/** Every key present and valid, no unknown key (a config read from a file or a checkpoint). */
export function validateConfig(c: TrainConfig, source: string): void {
  for (const [key, check] of Object.entries(CHECKS)) {
    const problem = check((c as any)[key]);
    if (problem) throw new Error(`${source}: setting ${settingName(key)} ${problem}, got ${JSON.stringify((c as any)[key])}`);
  }
  for (const key of Object.keys(c)) if (!(key in CHECKS) && key !== 'mla' && key !== 'synthetic') throw new Error(`${source}: unknown setting '${key}'`);
  checkNested(source, 'mla', c.mla, MLA_CHECKS);
  for (const k of Object.keys(MLA_CHECKS)) if (!(k in c.mla)) throw new Error(`${source}: setting 'mla.${k}' is missing`);
  checkNested(source, 'synthetic', c.synthetic, SYNTHETIC_CHECKS);
  try {
    checkSyntheticOptions({ ...DEFAULT_SYNTHETIC, ...c.synthetic });
  } catch (e) {
    throw new Error(`${source}: ${(e as Error).message}`);
  }
}

/**
 * Settings a resumed run may change: they change when and where things happen, not what is
 * computed (so the resumed run still equals an uninterrupted run of the new schedule). Every other
 * setting (data, model, optimisation, clustering, seed) comes from the checkpoint.
 */
export const RESUMABLE_SETTINGS = ['epochs', 'evalEvery', 'threads', 'backend', 'rerank', 'out', 'evalAtStart'] as const;

/** The settings where `b` differs from `a`, as dotted keys (mla.pla, synthetic.confound). */
export function configDifferences(a: TrainConfig, b: TrainConfig): string[] {
  const out: string[] = [];
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) {
    const x = (a as any)[k], y = (b as any)[k];
    if (k === 'mla' || k === 'synthetic') {
      for (const n of new Set([...Object.keys(x ?? {}), ...Object.keys(y ?? {})])) if (x?.[n] !== y?.[n]) out.push(`${k}.${n}`);
    } else if (x !== y) out.push(k);
  }
  return out;
}

/** Throws naming every setting of `next` that a resume of a run trained with `saved` may not change. */
export function assertResumable(saved: TrainConfig, next: TrainConfig, checkpoint: string): void {
  const refused = configDifferences(saved, next).filter((k) => !(RESUMABLE_SETTINGS as readonly string[]).includes(k));
  if (refused.length) {
    const show = (c: TrainConfig, k: string) => JSON.stringify(k.includes('.') ? (c as any)[k.split('.')[0]]?.[k.split('.')[1]] : (c as any)[k]);
    throw new Error(`--resume ${checkpoint}: the checkpoint was trained with other data or model settings; ` +
      refused.map((k) => `${settingName(k)} ${show(saved, k)} -> ${show(next, k)}`).join(', ') +
      `. A resumed run takes them from the checkpoint; only ${RESUMABLE_SETTINGS.join(', ')} may change. Start a new run (--out) to change the others.`);
  }
}
