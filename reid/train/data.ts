/**
 * The training loop's view of the data: the data set named by the config (the synthetic one is
 * generated on first use), its training images decoded once up front, and batches as tensors.
 */
import { existsSync } from 'node:fs';
import { Tensor } from '../../core/tensor.ts';
import type { Rng } from '../../core/random.ts';
import { loadDataset, type ReidDataset, type ReidItem } from '../data/datasets.ts';
import { ensureSynthetic } from '../data/synthetic.ts';
import { ImageBatchLoader } from '../data/loader.ts';
import type { TrainConfig } from './config.ts';
import type { Reporter } from './progress.ts';

export type { ReidItem };
export type ReidData = ReidDataset;

export async function loadReidData(c: TrainConfig, reporter: Reporter): Promise<ReidData> {
  if (c.dataset === 'synthetic') {
    const t0 = performance.now();
    const s = ensureSynthetic(c.dataDir, c.synthetic);
    if (performance.now() - t0 > 500) reporter.line(`generated the synthetic data set in ${c.dataDir} (${s.train + s.query + s.gallery} images, confound ${s.options.confound})`);
  } else if (!existsSync(c.dataDir)) {
    throw new Error(`--data-dir ${c.dataDir}: folder not found. Point --data-dir at the ${c.dataset} root (the folder holding bounding_box_train/, query/, bounding_box_test/).`);
  }
  const data = loadDataset(c.dataDir, c.dataset === 'synthetic' ? 'market1501' : c.dataset);
  reporter.line(`data: ${data.format} at ${data.root}: ${data.train.length} training images (${data.numTrainPids} identities, labels unused), ` +
    `${data.query.length} query, ${data.gallery.length} gallery, ${data.numCameras} cameras`);
  return data;
}

/** Image batches as [N, 3, H, W] tensors; train batches draw their augmentation from the run's Rng. */
export class ImageBatcher {
  private readonly loader: ImageBatchLoader;

  constructor(data: ReidData, c: TrainConfig, private readonly rng: Rng) {
    this.loader = new ImageBatchLoader({ height: c.height, width: c.width });
    void data;
  }

  batch(items: readonly ReidItem[], mode: 'train' | 'test'): Tensor<['N', 'C', 'H', 'W']> {
    const b = this.loader.batch(items, mode, this.rng);
    return new Tensor<['N', 'C', 'H', 'W']>(b.data, [b.n, 3, this.loader.height, this.loader.width]);
  }
}
