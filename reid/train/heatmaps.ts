/**
 * The paper's figure 5 for this run: Grad-CAM heat maps (nn/gradcam.ts) of the backbone's layer4
 * and of each attention module of the last layer4 block, over a few query images, side by side,
 * with a colour bar. Under each module's title: r, the lowest Pearson correlation over the images
 * shown between its map and layer4's (nn/gradcam.ts mapCorrelation); "≈ layer4" where r exceeds
 * SAME_MAP_CORRELATION (0.99) on every image, i.e. the module's map cannot be told from layer4's.
 * Images where either map is flat (constant) are left out of r and counted under the title.
 */
import { join } from 'node:path';
import { SAME_MAP_CORRELATION, gradCam, mapCorrelation } from '../../nn/gradcam.ts';
import { Tensor } from '../../core/tensor.ts';
import { drawHeatmapGrid, type HeatmapSample } from '../viz/grids.ts';
import { upsampleHeat } from '../viz/heatmap.ts';
import type { TrainConfig } from './config.ts';
import type { ImageBatcher, ReidData } from './data.ts';
import type { ReidModel } from './model.ts';

type Map2d = HeatmapSample['maps'][number];

/** Whether a heat map is constant (no variance: Grad-CAM's ReLU left nothing, or a uniform map). */
export function isFlat(heat: ArrayLike<number>): boolean {
  for (let i = 1; i < heat.length; i++) if (heat[i] !== heat[0]) return false;
  return true;
}

/**
 * Lowest correlation between column `j`'s map and column `i`'s (default 0, layer4), maps brought to
 * column i's size, over the samples where neither map is flat; NaN when there is no such sample.
 */
export function lowestCorrelation(samples: HeatmapSample[], j: number, i = 0): number {
  let r = NaN;
  for (const s of samples) {
    const ref = s.maps[i], m: Map2d = s.maps[j];
    const heat = m.height === ref.height && m.width === ref.width ? m.heat : upsampleHeat(m.heat, m.height, m.width, ref.height, ref.width);
    if (isFlat(ref.heat) || isFlat(heat)) continue;
    const v = mapCorrelation(ref.heat, heat);
    r = Number.isNaN(r) ? v : Math.min(r, v);
  }
  return r;
}

/**
 * The note lines under a column title: r with layer4 ("r n/a" when no image has both maps
 * non-flat), "≈ layer4" above the threshold, "≈ X" for an earlier module X whose map it also cannot be
 * told from, and on how many of the images the map is flat.
 */
export function sameMapNote(r: number, sameAs: string[] = [], flat = 0, images = 0): string[] {
  const lines = Number.isNaN(r) ? ['r n/a'] : r > SAME_MAP_CORRELATION ? [`r ${r.toFixed(3)}`, '≈ layer4'] : [`r ${r.toFixed(2)}`];
  return [...lines, ...sameAs.map((x) => `≈ ${x}`), ...(flat > 0 ? [`flat ${flat}/${images}`] : [])];
}

export function writeHeatmaps(c: TrainConfig, model: ReidModel, data: ReidData, batcher: ImageBatcher, queries: number[]): string[] {
  const last = `layer4.${model.opts.depths[3] - 1}`;
  const columns: [string, string][] = [['layer4', 'layer4']];
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
  const flat = columns.map((_, j) => samples.filter((s) => isFlat(s.maps[j].heat)).length);
  const notes = columns.map((_, j) => (j === 0 ? ['reference', ...(flat[0] > 0 ? [`flat ${flat[0]}/${samples.length}`] : [])]
    : sameMapNote(lowestCorrelation(samples, j), columns.slice(1, j).filter((_, i) => lowestCorrelation(samples, j, i + 1) > SAME_MAP_CORRELATION).map(([t]) => t),
      flat[j], samples.length)));
  const path = join(c.out, 'gradcam.png');
  drawHeatmapGrid(samples, columns.map(([t]) => t), { notes, legend: heatmapLegend(last, columns.length > 1) }).save(path);
  return [path];
}

/** What the Grad-CAM picture shows, under its colour bar. */
export function heatmapLegend(last: string, modules: boolean): string[] {
  return [
    `Grad-CAM of the embedding's norm at layer4${modules ? ` and at each attention module of ${last}` : ''}; each map scaled to [0, 1] on its own.`,
    ...(modules ? [`r: lowest Pearson correlation, over these images, with layer4's map; "≈ layer4": r > ${SAME_MAP_CORRELATION} on every image, the module's map cannot be told from layer4's ("≈ HLA": nor from that module's).`] : []),
    'flat k/n: on k of the n images the map is constant (nothing left after Grad-CAM\'s ReLU); those images are left out of r.',
  ];
}
