/**
 * The paper's figure 5 for this run: Grad-CAM heat maps (nn/gradcam.ts) of the backbone's layer4
 * and of each attention module of the last layer4 block, over a few query images, side by side.
 */
import { join } from 'node:path';
import { gradCam } from '../../nn/gradcam.ts';
import { Tensor } from '../../core/tensor.ts';
import { drawHeatmapGrid, type HeatmapSample } from '../viz/grids.ts';
import type { TrainConfig } from './config.ts';
import type { ImageBatcher, ReidData } from './data.ts';
import type { ReidModel } from './model.ts';

export function writeHeatmaps(c: TrainConfig, model: ReidModel, data: ReidData, batcher: ImageBatcher, queries: number[]): string[] {
  const last = `layer4.${model.opts.depths[3] - 1}`;
  const columns: [string, string][] = [['LAYER4', 'layer4']];
  for (const m of ['pla', 'hla', 'dla'] as const) if (c.mla[m]) columns.push([m.toUpperCase(), `${last}.${m}`]);
  const samples: HeatmapSample[] = queries.slice(0, 6).map((q) => {
    const x = batcher.batch([data.query[q]], 'test');
    const image = { chw: x.data as Float32Array, height: c.height, width: c.width };
    return {
      image,
      maps: columns.map(([, layer]) => {
        const cam = gradCam(model, new Tensor(x.data, x.shape), { layer });
        return { heat: cam.heat, height: cam.h, width: cam.w };
      }),
    };
  });
  const path = join(c.out, 'gradcam.png');
  drawHeatmapGrid(samples, columns.map(([t]) => t)).save(path);
  return [path];
}
