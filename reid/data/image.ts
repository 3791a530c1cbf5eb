/**
 * Image files in, RGB bytes out: JPEG (jpeg-js) and PNG (pngjs) decoding, and bilinear resizing.
 *
 *   RgbImage: { width W, height H, data: Uint8Array [H, W, 3] } (row-major, interleaved RGB)
 *
 * The format is recognised by its magic bytes, not by the file name. A file that cannot be read or
 * decoded raises CorruptImageError, which names the path; callers decide whether to skip or stop.
 * JPEGs are decoded strictly: a missing end-of-image marker (a truncated file) or a missing block is
 * an error, not a partly grey image. (A bit flip inside the entropy-coded data that still decodes is
 * not detectable: JPEG carries no checksum.)
 */
import { readFileSync } from 'node:fs';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';

export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

export class CorruptImageError extends Error {
  constructor(readonly path: string, reason: string) {
    super(`corrupt or unreadable image ${path}: ${reason}`);
    this.name = 'CorruptImageError';
  }
}

/** Decodes JPEG or PNG bytes; `path` names the source in errors. */
export function decodeImage(bytes: Uint8Array, path = '<buffer>'): RgbImage {
  const isJpeg = bytes.length > 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
  const isPng = bytes.length > 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47;
  if (!isJpeg && !isPng) throw new CorruptImageError(path, `not a JPEG or PNG file (first bytes ${Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ') || 'none: empty file'})`);
  try {
    if (isJpeg) {
      // strict: a JPEG ends with its EOI marker (FF D9; trailing padding allowed), and no block may be missing
      let end = bytes.length;
      while (end > 2 && (bytes[end - 1] === 0x00 || bytes[end - 1] === 0x0a || bytes[end - 1] === 0x20)) end--;
      if (!(bytes[end - 2] === 0xff && bytes[end - 1] === 0xd9)) throw new Error(`truncated JPEG: no end-of-image marker (FF D9) at the end of its ${bytes.length} bytes`);
      const d = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, maxMemoryUsageInMB: 1024, tolerantDecoding: false });
      if (d.data.length !== d.width * d.height * 3) throw new Error(`decoder returned ${d.data.length} bytes for ${d.width}x${d.height}`);
      return { width: d.width, height: d.height, data: d.data as Uint8Array };
    }
    const p = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    const rgb = new Uint8Array(p.width * p.height * 3);
    for (let i = 0, j = 0; j < rgb.length; i += 4, j += 3) {
      rgb[j] = p.data[i]; rgb[j + 1] = p.data[i + 1]; rgb[j + 2] = p.data[i + 2];
    }
    return { width: p.width, height: p.height, data: rgb };
  } catch (e) {
    throw new CorruptImageError(path, (e as Error).message ?? String(e));
  }
}

export function readImage(path: string): RgbImage {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new CorruptImageError(path, (e as Error).message);
  }
  return decodeImage(bytes, path);
}

/**
 * Bilinear resize to h x w with half-pixel centres (align_corners = false, no antialiasing: what
 * torch.nn.functional.interpolate(mode='bilinear') and OpenCV's INTER_LINEAR compute).
 */
export function resizeBilinear(img: RgbImage, h: number, w: number): RgbImage {
  if (img.width === w && img.height === h) return { width: w, height: h, data: img.data.slice() };
  const out = new Uint8Array(h * w * 3);
  const sy = img.height / h, sx = img.width / w;
  const W = img.width, src = img.data;
  for (let y = 0; y < h; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), img.height - 1);
    const y0 = Math.floor(fy), y1 = Math.min(y0 + 1, img.height - 1), ty = fy - y0;
    for (let x = 0; x < w; x++) {
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), W - 1);
      const x0 = Math.floor(fx), x1 = Math.min(x0 + 1, W - 1), tx = fx - x0;
      for (let c = 0; c < 3; c++) {
        const a = src[(y0 * W + x0) * 3 + c], b = src[(y0 * W + x1) * 3 + c];
        const d = src[(y1 * W + x0) * 3 + c], e = src[(y1 * W + x1) * 3 + c];
        const v = (a * (1 - tx) + b * tx) * (1 - ty) + (d * (1 - tx) + e * tx) * ty;
        out[(y * w + x) * 3 + c] = Math.round(v);
      }
    }
  }
  return { width: w, height: h, data: out };
}
