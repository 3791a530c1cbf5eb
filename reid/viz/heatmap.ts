/**
 * Heat maps over images (for Grad-CAM): upsample an h x w map bilinearly to the image, rescale
 * it to [0, 1] (min-max), colour it with the jet colour map and blend it over the picture.
 *
 *   image: RgbImage (uint8 [H, W, 3]) or NormalizedCHW (the network's input, Float32 [3, H, W]
 *          ImageNet-normalised; it is de-normalised for display)
 *   heat : Float32Array [h, w], any range
 */
import type { RgbImage } from '../data/image.ts';
import { IMAGENET_MEAN, IMAGENET_STD } from '../data/transforms.ts';
import type { Colour } from './canvas.ts';

export interface NormalizedCHW {
  chw: Float32Array;
  height: number;
  width: number;
}

export type AnyImage = RgbImage | NormalizedCHW;

/** Undo ImageNet normalisation of a [3, H, W] input into displayable RGB bytes. */
export function denormalize(img: NormalizedCHW): RgbImage {
  const { chw, height: H, width: W } = img;
  if (chw.length !== 3 * H * W) throw new Error(`denormalize: ${chw.length} values for a 3 x ${H} x ${W} image`);
  const out = new Uint8Array(H * W * 3);
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < H * W; i++) out[i * 3 + c] = Math.max(0, Math.min(255, Math.round((chw[c * H * W + i] * IMAGENET_STD[c] + IMAGENET_MEAN[c]) * 255)));
  }
  return { width: W, height: H, data: out };
}

export function toRgb(img: AnyImage): RgbImage {
  return 'chw' in img ? denormalize(img) : img;
}

/** The jet colour map at t in [0, 1] (blue -> cyan -> yellow -> red), as OpenCV's COLORMAP_JET. */
export function jet(t: number): Colour {
  t = Math.max(0, Math.min(1, t));
  const f = (x: number) => Math.round(255 * Math.max(0, Math.min(1, 1.5 - Math.abs(4 * t - x))));
  return [f(3), f(2), f(1)];
}

/** Bilinear upsampling (half-pixel centres) of heat[h, w] to H x W. */
export function upsampleHeat(heat: Float32Array, h: number, w: number, H: number, W: number): Float32Array {
  if (heat.length !== h * w) throw new Error(`heatmap: ${heat.length} values for a ${h} x ${w} map`);
  const out = new Float32Array(H * W);
  for (let y = 0; y < H; y++) {
    const fy = Math.min(Math.max((y + 0.5) * (h / H) - 0.5, 0), h - 1);
    const y0 = Math.floor(fy), y1 = Math.min(y0 + 1, h - 1), ty = fy - y0;
    for (let x = 0; x < W; x++) {
      const fx = Math.min(Math.max((x + 0.5) * (w / W) - 0.5, 0), w - 1);
      const x0 = Math.floor(fx), x1 = Math.min(x0 + 1, w - 1), tx = fx - x0;
      out[y * W + x] = (heat[y0 * w + x0] * (1 - tx) + heat[y0 * w + x1] * tx) * (1 - ty) + (heat[y1 * w + x0] * (1 - tx) + heat[y1 * w + x1] * tx) * ty;
    }
  }
  return out;
}

/** The image with the heat map blended over it: out = (1 - alpha) image + alpha jet(normalised heat). */
export function heatmapOverlay(image: AnyImage, heat: Float32Array, heatH: number, heatW: number, opts: { alpha?: number } = {}): RgbImage {
  const rgb = toRgb(image);
  const alpha = opts.alpha ?? 0.5;
  const up = upsampleHeat(heat, heatH, heatW, rgb.height, rgb.width);
  let lo = Infinity, hi = -Infinity;
  for (const v of up) { if (v < lo) lo = v; if (v > hi) hi = v; }
  const span = hi > lo ? hi - lo : 1;
  const out = new Uint8Array(rgb.data.length);
  for (let i = 0; i < up.length; i++) {
    const col = jet((up[i] - lo) / span);
    for (let c = 0; c < 3; c++) out[i * 3 + c] = Math.round((1 - alpha) * rgb.data[i * 3 + c] + alpha * col[c]);
  }
  return { width: rgb.width, height: rgb.height, data: out };
}
