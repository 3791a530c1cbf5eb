/**
 * The training loop's view of the data: the data set named by the config (the synthetic one is
 * generated on first use), its training images decoded once up front, and batches as tensors.
 */
import { existsSync } from 'node:fs';
import { Tensor } from '../../core/tensor.ts';
import type { Rng } from '../../core/random.ts';
import { detectLayout, layoutDisagreement, loadDataset, type ReidDataset, type ReidItem } from '../data/datasets.ts';
import { assertWritableForSynthetic, ensureSynthetic, isSyntheticRoot } from '../data/synthetic.ts';
import { ImageBatchLoader } from '../data/loader.ts';
import type { TrainConfig } from './config.ts';
import type { Reporter } from './progress.ts';

export type { ReidItem };
export type ReidData = ReidDataset;

/** Thrown when the data set cannot be used as asked (wrong layout, wrong --dataset, a corrupt image). */
export class DataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataError';
  }
}

/**
 * The data set the config names. The synthetic set is generated only into a new or empty folder or
 * one the generator made; any other folder is refused, and a folder's layout must agree with
 * `dataset` (a real Market-1501 folder is never taken for the synthetic set, nor Duke for Market).
 */
export async function loadReidData(c: TrainConfig, reporter: Reporter): Promise<ReidData> {
  if (c.dataset === 'synthetic') {
    if (!isSyntheticRoot(c.dataDir)) {
      const found = detectLayout(c.dataDir);
      if (found) throw new DataError(`--data-dir ${c.dataDir} holds a ${found} data set, not the generated synthetic one: give --dataset ${found} to use it (nothing was written there)`);
    }
    try {
      assertWritableForSynthetic(c.dataDir);
    } catch (e) {
      throw new DataError((e as Error).message);
    }
    const t0 = performance.now();
    const s = ensureSynthetic(c.dataDir, c.synthetic);
    if (performance.now() - t0 > 500) reporter.line(`generated the synthetic data set in ${c.dataDir} (${s.train + s.query + s.gallery} images, confound ${s.options.confound})`);
  } else if (!existsSync(c.dataDir)) {
    throw new DataError(`--data-dir ${c.dataDir}: folder not found. Point --data-dir at the ${c.dataset} root (README "Real data sets" shows each layout).`);
  } else {
    const problem = layoutDisagreement(c.dataDir, c.dataset);
    if (problem) throw new DataError(`--dataset ${c.dataset}: ${problem}`);
  }
  const data = loadDataset(c.dataDir, c.dataset === 'synthetic' ? 'market1501' : c.dataset);
  reporter.line(`data: ${data.format} at ${data.root}: ${data.train.length} training images (${data.numTrainPids} identities, labels unused), ` +
    `${data.query.length} query, ${data.gallery.length} gallery, ${data.numCameras} cameras`);
  return data;
}

/** Image batches as [N, 3, H, W] tensors; train batches draw their augmentation from the run's Rng. */
export class ImageBatcher {
  private readonly loader: ImageBatchLoader;

  constructor(data: ReidData, private readonly c: TrainConfig, private readonly rng: Rng) {
    // corrupt images are found (and reported, or dropped with 'skip') by checkImages before any
    // batch is made; a batch that still meets one throws (batch below), so no warning is needed here
    this.loader = new ImageBatchLoader({ height: c.height, width: c.width, onCorrupt: 'skip', warn: () => {} });
    void data;
  }

  /**
   * Decodes every image of `data` once (strictly; they stay cached while memory allows), before any
   * training or evaluation. A corrupt one stops the run naming its path (`onCorrupt: 'stop'`), or
   * is left out of its split with a warning ('skip', `--skip-corrupt`): `data` is changed in place.
   */
  checkImages(data: ReidData, reporter: Reporter): void {
    const bar = reporter.phase('checking images', data.train.length + data.query.length + data.gallery.length, 'img');
    let done = 0;
    const bad: { path: string; reason: string }[] = [];
    for (const split of ['train', 'query', 'gallery'] as const) {
      const kept: ReidItem[] = [];
      for (const it of data[split]) {
        const r = this.loader.preload([it]);
        if (r.kept.length) kept.push(it);
        else bad.push(...r.skipped);
        if (++done % 64 === 0) bar.update(done);
      }
      data[split] = kept;
    }
    bar.stop();
    if (bad.length === 0) return;
    const list = bad.slice(0, 10).map((b) => `  ${b.reason}`).join('\n') + (bad.length > 10 ? `\n  ... and ${bad.length - 10} more` : '');
    if (this.c.onCorrupt === 'stop') {
      throw new DataError(`${bad.length} corrupt or unreadable image${bad.length > 1 ? 's' : ''}, found before training:\n${list}\n` +
        'Replace or delete them, or pass --skip-corrupt to leave them out.');
    }
    reporter.line(`skipping ${bad.length} corrupt image${bad.length > 1 ? 's' : ''} (--skip-corrupt):\n${list}`);
    for (const split of ['train', 'query', 'gallery'] as const) {
      if (data[split].length === 0) throw new DataError(`the ${split} split has no readable image left after skipping the corrupt ones`);
    }
  }

  batch(items: readonly ReidItem[], mode: 'train' | 'test'): Tensor<['N', 'C', 'H', 'W']> {
    const b = this.loader.batch(items, mode, this.rng);
    if (b.n !== items.length) throw new DataError(`corrupt image in a batch: ${b.skipped.map((s) => s.reason).join('; ')} (run checkImages first)`);
    return new Tensor<['N', 'C', 'H', 'W']>(b.data, [b.n, 3, this.loader.height, this.loader.width]);
  }
}
