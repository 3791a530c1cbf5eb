/**
 * JPEG encoding with jpeg-js, reusing one encoder per quality.
 *
 * jpeg-js's `encode()` builds a new JPEGEncoder per call, and building its tables costs ~10 ms,
 * 35x the ~0.3 ms of encoding a 128 x 64 picture. The package does not export the class, so it is
 * loaded from the package's own encoder source; `spec/reid-synthetic.test.ts` checks that the
 * bytes equal jpeg-js's `encode()`. If loading fails (a future jpeg-js), plain `encode()` is used.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import jpeg from 'jpeg-js';

interface Encoder { encode(img: { data: Buffer; width: number; height: number }, quality: number): Buffer }

let EncoderClass: (new (quality: number) => Encoder) | null | undefined;
const encoders = new Map<number, Encoder>();

function encoderFor(quality: number): Encoder | null {
  if (EncoderClass === undefined) {
    try {
      const req = createRequire(import.meta.url);
      const src = readFileSync(req.resolve('jpeg-js/lib/encoder.js'), 'utf8');
      EncoderClass = new Function('module', 'Buffer', `${src}\nreturn JPEGEncoder;`)({}, Buffer);
    } catch {
      EncoderClass = null;
    }
  }
  if (!EncoderClass) return null;
  let e = encoders.get(quality);
  if (!e) encoders.set(quality, (e = new EncoderClass(quality)));
  return e;
}

/** RGB bytes (H x W x 3) to JPEG file bytes. */
export function encodeJpegRgb(rgb: Uint8Array, width: number, height: number, quality: number): Uint8Array {
  if (rgb.length !== width * height * 3) throw new Error(`encodeJpegRgb: ${rgb.length} bytes for a ${width}x${height} RGB image (expected ${width * height * 3})`);
  const rgba = Buffer.alloc(width * height * 4);
  for (let i = 0, j = 0; i < rgb.length; i += 3, j += 4) {
    rgba[j] = rgb[i]; rgba[j + 1] = rgb[i + 1]; rgba[j + 2] = rgb[i + 2]; rgba[j + 3] = 255;
  }
  const img = { data: rgba, width, height };
  const enc = encoderFor(quality);
  return enc ? enc.encode(img, quality) : jpeg.encode(img, quality).data;
}
