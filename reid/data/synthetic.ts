/**
 * The embedded default data set: a seeded synthetic re-ID set written as JPEGs in the
 * Market-1501 layout, so that the same loader reads it and real data.
 *
 *   ROOT/bounding_box_train/PPPP_cCsS_FFFFFF_BB.jpg   training identities (pid PPPP, camera C >= 1)
 *   ROOT/query/...                                     one image per test identity and camera
 *   ROOT/bounding_box_test/...                         the other test images, plus distractors (pid 0000)
 *   ROOT/synthetic.json                                the options that produced it (a manifest)
 *
 * People and cameras are drawn by ./syntheticRender.ts. Everything follows from `seed` through
 * core/random.ts: an Rng per identity, per camera and per image (seeded by hashing the run seed with
 * the item's numbers), so the output is byte-identical for the same options, whatever the order of
 * writing. The default (80 + 80 identities x 4 cameras x 3 images, 128 x 64) has 960 training images,
 * small enough for a CPU training run of a small ResNet in about a quarter of an hour on 2 cores.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../../core/random.ts';
import { encodeJpegRgb } from './jpegEncode.ts';
import { type Camera, type Identity, makeCamera, makeIdentity, renderImage } from './syntheticRender.ts';

export interface SyntheticOptions {
  /** Seed for everything (default 1). */
  seed: number;
  /** Training identities (default 80). */
  trainIdentities: number;
  /** Test identities, split into query and gallery (default 80). */
  testIdentities: number;
  /** Cameras (default 4); every identity is seen by every camera. */
  cameras: number;
  /** Images of each identity in each camera (default 3; >= 2 so that every test identity has gallery images). */
  imagesPerCamera: number;
  /** Image height and width (default 128 x 64). */
  height: number;
  width: number;
  /** Camera-background confound strength in [0, 1] (default 0.7): 0 = neutral backgrounds, 1 = each camera's own scene. */
  confound: number;
  /** Strength of each camera's lighting (colour gain, brightness, side light) in [0, 1] (default 1). */
  lighting: number;
  /** Pixel noise standard deviation in grey levels (default 4). */
  noise: number;
  /** Distractor images (pid 0000) added to the gallery (default 40). */
  distractors: number;
  /** JPEG quality (default 90). */
  quality: number;
}

export const DEFAULT_SYNTHETIC: SyntheticOptions = {
  seed: 1,
  trainIdentities: 80,
  testIdentities: 80,
  cameras: 4,
  imagesPerCamera: 3,
  height: 128,
  width: 64,
  confound: 0.7,
  lighting: 1,
  noise: 4,
  distractors: 40,
  quality: 90,
};

/** Where the default set goes (data/ is git-ignored). */
export const DEFAULT_SYNTHETIC_ROOT = 'data/synthetic-market';

/** A 32-bit hash of numbers, to seed the Rng of one identity / camera / image. */
export function seedOf(...xs: number[]): number {
  let h = 0x811c9dc5;
  for (const x of xs) {
    h = Math.imul(h ^ (x >>> 0), 0x01000193) >>> 0;
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
  }
  return h >>> 0;
}

const TAG = { identity: 1, camera: 2, image: 3, distractor: 4, pids: 5 };

/** Throws, naming the option, when a value is out of its range. */
export function checkSyntheticOptions(o: SyntheticOptions): void {
  const int = (name: keyof SyntheticOptions, lo: number, hi = Infinity) => {
    const v = o[name];
    if (!Number.isInteger(v) || v < lo || v > hi) throw new Error(`synthetic data: option ${name} must be an integer in [${lo}, ${hi}], got ${v}`);
  };
  int('trainIdentities', 1, 4000);
  int('testIdentities', 1, 4000);
  if (o.trainIdentities + o.testIdentities > 9999) throw new Error('synthetic data: at most 9999 identities in all (4-digit pids)');
  int('cameras', 2, 9);
  int('imagesPerCamera', 2, 99);
  int('height', 16, 1024);
  int('width', 8, 1024);
  int('distractors', 0, 100000);
  int('quality', 1, 100);
  for (const k of ['confound', 'lighting'] as const) {
    if (!(o[k] >= 0 && o[k] <= 1)) throw new Error(`synthetic data: option ${k} must be in [0, 1], got ${o[k]}`);
  }
  if (!(o.noise >= 0)) throw new Error(`synthetic data: option noise must be >= 0, got ${o.noise}`);
}

export interface SyntheticSummary {
  root: string;
  options: SyntheticOptions;
  train: number;
  query: number;
  gallery: number;
}

/** Market-1501 file name: pid (4 digits), camera (1-based), sequence, frame (6 digits), box (2 digits). */
export function marketName(pid: number, cam: number, seq: number, frame: number, box: number): string {
  const pad = (n: number, k: number) => String(n).padStart(k, '0');
  return `${pad(pid, 4)}_c${cam}s${seq}_${pad(frame, 6)}_${pad(box, 2)}.jpg`;
}

const GENERATOR = 'mla-reid synthetic v1';
const SPLITS = ['bounding_box_train', 'query', 'bounding_box_test'];

/** True when `root` holds a manifest written by this generator (complete or not). */
export function isSyntheticRoot(root: string): boolean {
  try {
    return JSON.parse(readFileSync(join(root, 'synthetic.json'), 'utf8')).generator === GENERATOR;
  } catch {
    return false;
  }
}

/**
 * The generator writes only into a folder it made (its manifest is there) or an empty / new one:
 * anything else may be the user's data, and is refused with a message naming the folder.
 */
export function assertWritableForSynthetic(root: string): void {
  if (!existsSync(root)) return;
  if (!statSync(root).isDirectory()) throw new SyntheticFolderError(`${root}: not a folder; the synthetic data set needs an empty or new folder (--data-dir)`);
  const entries = readdirSync(root);
  if (entries.length === 0 || isSyntheticRoot(root)) return;
  throw new SyntheticFolderError(`${root}: refusing to write the synthetic data set here: the folder holds files this generator did not write ` +
    `(${entries.slice(0, 5).join(', ')}${entries.length > 5 ? ', ...' : ''}) and no synthetic.json of it. ` +
    'To read a real data set there, give --dataset (market1501, dukemtmc, msmt17, personx or folder); to generate, give --data-dir an empty or new folder.');
}

export class SyntheticFolderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SyntheticFolderError';
  }
}

/**
 * Writes the synthetic set under `root` and returns counts. `root` must be new, empty, or a folder
 * this generator wrote (then its three image folders are replaced); anything else is refused.
 */
export function generateSynthetic(root: string, partial: Partial<SyntheticOptions> = {}): SyntheticSummary {
  const o: SyntheticOptions = { ...DEFAULT_SYNTHETIC, ...partial };
  checkSyntheticOptions(o);
  assertWritableForSynthetic(root);
  mkdirSync(root, { recursive: true });
  // the manifest first, marked incomplete: an interrupted generation still marks the folder as ours
  writeFileSync(join(root, 'synthetic.json'), JSON.stringify({ generator: GENERATOR, complete: false, options: o }, null, 2) + '\n');
  for (const d of SPLITS) {
    rmSync(join(root, d), { recursive: true, force: true });
    mkdirSync(join(root, d), { recursive: true });
  }
  // Distinct pids in 1..max(1501, total): train and test disjoint, as in Market-1501.
  const total = o.trainIdentities + o.testIdentities;
  const pool = Array.from({ length: Math.max(1501, total) }, (_, i) => i + 1);
  const chosen = new Rng(seedOf(o.seed, TAG.pids)).shuffle(pool).slice(0, total);
  const trainPids = chosen.slice(0, o.trainIdentities).sort((a, b) => a - b);
  const testPids = chosen.slice(o.trainIdentities).sort((a, b) => a - b);
  const cams: Camera[] = Array.from({ length: o.cameras }, (_, c) => makeCamera(new Rng(seedOf(o.seed, TAG.camera, c)), c));
  const render = { height: o.height, width: o.width, confound: o.confound, lighting: o.lighting, noise: o.noise };
  const counts = { train: 0, query: 0, gallery: 0 };
  const frames = new Array(o.cameras).fill(0);
  const write = (dir: string, pid: number, c: number, id: Identity, imageSeed: number, box: number) => {
    const { rgb } = renderImage(id, cams[c], new Rng(imageSeed), render);
    frames[c] += 1 + (imageSeed % 7);
    writeFileSync(join(root, dir, marketName(pid, c + 1, 1, frames[c], box)), encodeJpegRgb(rgb, o.width, o.height, o.quality));
  };
  for (const [split, pids] of [['train', trainPids], ['test', testPids]] as const) {
    for (const pid of pids) {
      const id = makeIdentity(new Rng(seedOf(o.seed, TAG.identity, pid)));
      for (let c = 0; c < o.cameras; c++) {
        for (let k = 0; k < o.imagesPerCamera; k++) {
          const dir = split === 'train' ? 'bounding_box_train' : k === 0 ? 'query' : 'bounding_box_test';
          write(dir, pid, c, id, seedOf(o.seed, TAG.image, pid, c, k), k + 1);
          counts[split === 'train' ? 'train' : k === 0 ? 'query' : 'gallery']++;
        }
      }
    }
  }
  // Distractors: people who are in no query (pid 0000), spread over the cameras.
  for (let i = 0; i < o.distractors; i++) {
    const c = i % o.cameras;
    const id = makeIdentity(new Rng(seedOf(o.seed, TAG.distractor, i)));
    write('bounding_box_test', 0, c, id, seedOf(o.seed, TAG.distractor, i, 1), 1 + (Math.floor(i / o.cameras) % 99));
    counts.gallery++;
  }
  writeFileSync(join(root, 'synthetic.json'), JSON.stringify({ generator: GENERATOR, complete: true, options: o, ...counts }, null, 2) + '\n');
  return { root, options: o, ...counts };
}

/**
 * Generates the set under `root` unless a complete manifest with the same options is already there
 * (the cheap path for every training run after the first). Never writes into a folder that is not
 * empty and was not made by the generator (generateSynthetic).
 */
export function ensureSynthetic(root = DEFAULT_SYNTHETIC_ROOT, partial: Partial<SyntheticOptions> = {}): SyntheticSummary {
  const o: SyntheticOptions = { ...DEFAULT_SYNTHETIC, ...partial };
  const manifest = join(root, 'synthetic.json');
  if (existsSync(manifest)) {
    try {
      const m = JSON.parse(readFileSync(manifest, 'utf8'));
      if (m.generator === GENERATOR && m.complete !== false && JSON.stringify(m.options) === JSON.stringify(o)) {
        return { root, options: o, train: m.train, query: m.query, gallery: m.gallery };
      }
    } catch {
      // unreadable manifest: regenerate
    }
  }
  return generateSynthetic(root, o);
}
