/**
 * Image transforms to the network's input, all seeded (core/random.ts), writing Float32 CHW.
 *
 *   input : RgbImage already resized to H x W (uint8 [H, W, 3], see ./image.ts)
 *   output: out[off + c*H*W + y*W + x] = (pixel/255 - mean[c]) / std[c]   (ImageNet statistics)
 *
 * Train (the paper's / cluster-contrast's order): random horizontal flip (p 0.5) -> pad 10 with
 * black -> random crop H x W -> normalise -> random erasing (p 0.5; area 2%-40%, aspect 0.3-3.33,
 * erased pixels set to the ImageNet mean values, as cluster-contrast's RandomErasing does).
 * Test: normalise only.
 */
import type { Rng } from '../../core/random.ts';
import type { RgbImage } from './image.ts';

export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

export interface TrainTransformConfig {
  flipP: number;
  pad: number;
  erasingP: number;
  erasingArea: [number, number];
  erasingMinAspect: number;
}

export const DEFAULT_TRAIN_TRANSFORM: TrainTransformConfig = { flipP: 0.5, pad: 10, erasingP: 0.5, erasingArea: [0.02, 0.4], erasingMinAspect: 0.3 };

/** Normalised CHW of `img` into out[off ..]. */
export function testTransform(img: RgbImage, out: Float32Array, off: number): void {
  const H = img.height, W = img.width, HW = H * W, d = img.data;
  for (let c = 0; c < 3; c++) {
    const scale = 1 / (255 * IMAGENET_STD[c]);
    const shift = IMAGENET_MEAN[c] / IMAGENET_STD[c];
    const o = off + c * HW;
    for (let i = 0; i < HW; i++) out[o + i] = d[i * 3 + c] * scale - shift;
  }
}

/** torchvision's randint(a, b) (both ends included). */
function randint(rng: Rng, a: number, b: number): number {
  return a + rng.int(b - a + 1);
}

/** Flip, pad + crop, normalise and random erasing of `img` (H x W) into out[off ..] (3 x H x W). */
export function trainTransform(img: RgbImage, rng: Rng, out: Float32Array, off: number, cfg: TrainTransformConfig = DEFAULT_TRAIN_TRANSFORM): void {
  const H = img.height, W = img.width, HW = H * W, d = img.data, p = cfg.pad;
  const flip = rng.next() < cfg.flipP;
  // RandomCrop after Pad(p): the crop's top-left in the padded image is uniform in [0, 2p]^2.
  const oy = randint(rng, 0, 2 * p) - p;
  const ox = randint(rng, 0, 2 * p) - p;
  for (let c = 0; c < 3; c++) {
    const scale = 1 / (255 * IMAGENET_STD[c]);
    const shift = IMAGENET_MEAN[c] / IMAGENET_STD[c];
    const o = off + c * HW;
    for (let y = 0; y < H; y++) {
      const sy = y + oy;
      for (let x = 0; x < W; x++) {
        const px = x + ox; // position in the flipped image
        let v = 0; // padding is black
        if (sy >= 0 && sy < H && px >= 0 && px < W) v = d[(sy * W + (flip ? W - 1 - px : px)) * 3 + c];
        out[o + y * W + x] = v * scale - shift;
      }
    }
  }
  // Random erasing (Zhong et al. 2020), cluster-contrast's version: up to 100 attempts.
  if (rng.next() >= cfg.erasingP) return;
  for (let attempt = 0; attempt < 100; attempt++) {
    const target = (cfg.erasingArea[0] + (cfg.erasingArea[1] - cfg.erasingArea[0]) * rng.next()) * HW;
    const r1 = cfg.erasingMinAspect;
    const aspect = r1 + (1 / r1 - r1) * rng.next();
    const h = Math.round(Math.sqrt(target * aspect));
    const w = Math.round(Math.sqrt(target / aspect));
    if (w < W && h < H) {
      const y1 = randint(rng, 0, H - h);
      const x1 = randint(rng, 0, W - w);
      for (let c = 0; c < 3; c++) {
        const o = off + c * HW;
        for (let y = y1; y < y1 + h; y++) out.fill(IMAGENET_MEAN[c], o + y * W + x1, o + y * W + x1 + w);
      }
      return;
    }
  }
}
