/**
 * Batches of network input from lists of data-set items.
 *
 *   batch(items, 'train' | 'test', rng) -> { data: Float32Array [N, 3, H, W], items (the N kept), skipped }
 *
 * Each image is decoded (./image.ts) and resized to H x W once, then kept in memory (uint8,
 * 3·H·W bytes each) up to `cacheBytes`: decoding is the cost that matters for a small set read
 * every epoch. Train batches then apply the seeded transforms of ./transforms.ts.
 * A corrupt image (CorruptImageError, naming the path) stops the run with onCorrupt 'stop'
 * (default) or is left out of the batch with 'skip' (reported in `skipped`, warned once per path).
 */
import type { Rng } from '../../core/random.ts';
import { alloc } from '../../core/tensor.ts';
import { CorruptImageError, type RgbImage, readImage, resizeBilinear } from './image.ts';
import { DEFAULT_TRAIN_TRANSFORM, type TrainTransformConfig, testTransform, trainTransform } from './transforms.ts';

export interface LoaderOptions {
  height: number;
  width: number;
  onCorrupt?: 'skip' | 'stop';
  /** Memory for decoded, resized images (default 1 GiB); beyond it images are decoded every time. */
  cacheBytes?: number;
  train?: TrainTransformConfig;
  /** Called once per corrupt path when skipping (default: console.warn). */
  warn?: (message: string) => void;
}

export interface Batch<T> {
  /** [N, 3, H, W] normalised. */
  data: Float32Array;
  n: number;
  items: T[];
  skipped: { path: string; reason: string }[];
}

export class ImageBatchLoader {
  readonly height: number;
  readonly width: number;
  private cache = new Map<string, RgbImage>();
  private cached = 0;
  private bad = new Map<string, string>();
  private readonly opts: Required<Omit<LoaderOptions, 'height' | 'width'>>;

  constructor(opts: LoaderOptions) {
    if (!(Number.isInteger(opts.height) && opts.height > 0 && Number.isInteger(opts.width) && opts.width > 0)) {
      throw new Error(`ImageBatchLoader: height and width must be positive integers, got ${opts.height} x ${opts.width}`);
    }
    this.height = opts.height;
    this.width = opts.width;
    this.opts = {
      onCorrupt: opts.onCorrupt ?? 'stop',
      cacheBytes: opts.cacheBytes ?? 2 ** 30,
      train: opts.train ?? DEFAULT_TRAIN_TRANSFORM,
      warn: opts.warn ?? ((m) => console.warn(m)),
    };
    if (this.opts.onCorrupt !== 'skip' && this.opts.onCorrupt !== 'stop') throw new Error(`ImageBatchLoader: onCorrupt must be 'skip' or 'stop', got '${String(opts.onCorrupt)}'`);
  }

  /** The image at `path`, decoded and resized to H x W; null if corrupt and skipping. */
  image(path: string): RgbImage | null {
    const hit = this.cache.get(path);
    if (hit) return hit;
    if (this.bad.has(path)) return null;
    let img: RgbImage;
    try {
      img = resizeBilinear(readImage(path), this.height, this.width);
    } catch (e) {
      if (!(e instanceof CorruptImageError) || this.opts.onCorrupt === 'stop') throw e;
      this.bad.set(path, e.message);
      this.opts.warn(`skipping ${e.message}`);
      return null;
    }
    if (this.cached + img.data.length <= this.opts.cacheBytes) {
      this.cache.set(path, img);
      this.cached += img.data.length;
    }
    return img;
  }

  /** Decodes every item once (filling the cache); returns the items whose images are readable. */
  preload<T extends { path: string }>(items: readonly T[]): { kept: T[]; skipped: { path: string; reason: string }[] } {
    const kept: T[] = [];
    const skipped: { path: string; reason: string }[] = [];
    for (const it of items) {
      if (this.image(it.path)) kept.push(it);
      else skipped.push({ path: it.path, reason: this.bad.get(it.path)! });
    }
    return { kept, skipped };
  }

  /** One batch: test mode normalises only; train mode needs `rng` for the random transforms. */
  batch<T extends { path: string }>(items: readonly T[], mode: 'train' | 'test', rng?: Rng): Batch<T> {
    if (mode === 'train' && !rng) throw new Error('ImageBatchLoader.batch: train mode needs an Rng');
    if (mode !== 'train' && mode !== 'test') throw new Error(`ImageBatchLoader.batch: mode must be 'train' or 'test', got '${String(mode)}'`);
    const per = 3 * this.height * this.width;
    const imgs: RgbImage[] = [];
    const kept: T[] = [];
    const skipped: { path: string; reason: string }[] = [];
    for (const it of items) {
      const img = this.image(it.path);
      if (img) { imgs.push(img); kept.push(it); } else skipped.push({ path: it.path, reason: this.bad.get(it.path)! });
    }
    // core/tensor.ts's storage: in a recycling scope (a training step, an extraction batch) the
    // backend's memory, where the first conv reads it in place and its helper threads share it
    const data = alloc('float32', imgs.length * per) as Float32Array;
    imgs.forEach((img, i) => (mode === 'train' ? trainTransform(img, rng!, data, i * per, this.opts.train) : testTransform(img, data, i * per)));
    return { data, n: imgs.length, items: kept, skipped };
  }

  /** Consecutive batches of `batchSize` items (the last may be smaller), in the given order. */
  *batches<T extends { path: string }>(items: readonly T[], batchSize: number, mode: 'train' | 'test', rng?: Rng): Generator<Batch<T>> {
    for (let i = 0; i < items.length; i += batchSize) yield this.batch(items.slice(i, i + batchSize), mode, rng);
  }
}
