/**
 * A tiny RGB raster for the project's pictures: rectangles, frames, lines, image blits, text in
 * a 5 x 7 bitmap font (./font.ts), and PNG output (pngjs). No browser, no native code.
 *
 *   Canvas: width W, height H, data Uint8Array [H, W, 3]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { PNG } from 'pngjs';
import type { RgbImage } from '../data/image.ts';
import { resizeBilinear } from '../data/image.ts';
import { GLYPH_H, GLYPH_W, glyph } from './font.ts';

export type Colour = [number, number, number];

export class Canvas implements RgbImage {
  readonly data: Uint8Array;
  constructor(readonly width: number, readonly height: number, background: Colour = [255, 255, 255]) {
    if (!(width > 0 && height > 0 && Number.isInteger(width) && Number.isInteger(height))) throw new Error(`Canvas: bad size ${width}x${height}`);
    this.data = new Uint8Array(width * height * 3);
    this.fillRect(0, 0, width, height, background);
  }

  pixel(x: number, y: number, c: Colour): void {
    x = Math.round(x); y = Math.round(y);
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const o = (y * this.width + x) * 3;
    this.data[o] = c[0]; this.data[o + 1] = c[1]; this.data[o + 2] = c[2];
  }

  /** Fills [x, x+w) x [y, y+h), clipped. */
  fillRect(x: number, y: number, w: number, h: number, c: Colour): void {
    const x0 = Math.max(0, Math.round(x)), x1 = Math.min(this.width, Math.round(x + w));
    const y0 = Math.max(0, Math.round(y)), y1 = Math.min(this.height, Math.round(y + h));
    for (let yy = y0; yy < y1; yy++) for (let xx = x0; xx < x1; xx++) {
      const o = (yy * this.width + xx) * 3;
      this.data[o] = c[0]; this.data[o + 1] = c[1]; this.data[o + 2] = c[2];
    }
  }

  /** A frame of thickness t drawn inside [x, x+w) x [y, y+h). */
  frame(x: number, y: number, w: number, h: number, t: number, c: Colour): void {
    this.fillRect(x, y, w, t, c);
    this.fillRect(x, y + h - t, w, t, c);
    this.fillRect(x, y, t, h, c);
    this.fillRect(x + w - t, y, t, h, c);
  }

  /** A line of thickness `t` (square brush) from (x0, y0) to (x1, y1). */
  line(x0: number, y0: number, x1: number, y1: number, c: Colour, t = 1): void {
    const n = Math.max(1, Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0))));
    const r = (t - 1) / 2;
    for (let i = 0; i <= n; i++) {
      const x = x0 + ((x1 - x0) * i) / n, y = y0 + ((y1 - y0) * i) / n;
      if (t <= 1) this.pixel(x, y, c);
      else this.fillRect(x - r, y - r, t, t, c);
    }
  }

  /** Copies `img` with its top-left at (x, y), resized to w x h when given. */
  blit(img: RgbImage, x: number, y: number, w = img.width, h = img.height): void {
    const src = w === img.width && h === img.height ? img : resizeBilinear(img, h, w);
    for (let yy = 0; yy < h; yy++) {
      const ty = y + yy;
      if (ty < 0 || ty >= this.height) continue;
      for (let xx = 0; xx < w; xx++) {
        const tx = x + xx;
        if (tx < 0 || tx >= this.width) continue;
        const s = (yy * w + xx) * 3, o = (ty * this.width + tx) * 3;
        this.data[o] = src.data[s]; this.data[o + 1] = src.data[s + 1]; this.data[o + 2] = src.data[s + 2];
      }
    }
  }

  /** Text in the 5x7 font, each font pixel drawn as `scale` x `scale`; returns the width drawn. */
  text(s: string, x: number, y: number, c: Colour, scale = 1): number {
    let cx = x;
    for (const ch of s) {
      const g = glyph(ch);
      for (let row = 0; row < GLYPH_H; row++) {
        for (let col = 0; col < GLYPH_W; col++) {
          if (g[row] & (1 << (GLYPH_W - 1 - col))) this.fillRect(cx + col * scale, y + row * scale, scale, scale, c);
        }
      }
      cx += (GLYPH_W + 1) * scale;
    }
    return cx - x;
  }

  /** Vertical text (rotated 90 degrees counter-clockwise), reading bottom to top from (x, y). */
  textUp(s: string, x: number, y: number, c: Colour, scale = 1): void {
    let cy = y;
    for (const ch of s) {
      const g = glyph(ch);
      for (let row = 0; row < GLYPH_H; row++) {
        for (let col = 0; col < GLYPH_W; col++) {
          if (g[row] & (1 << (GLYPH_W - 1 - col))) this.fillRect(x + row * scale, cy - (col + 1) * scale, scale, scale, c);
        }
      }
      cy -= (GLYPH_W + 1) * scale;
    }
  }

  toPng(): Uint8Array {
    const png = new PNG({ width: this.width, height: this.height });
    for (let i = 0, j = 0; i < this.data.length; i += 3, j += 4) {
      png.data[j] = this.data[i]; png.data[j + 1] = this.data[i + 1]; png.data[j + 2] = this.data[i + 2]; png.data[j + 3] = 255;
    }
    return PNG.sync.write(png);
  }

  /** Writes the PNG, creating the folder. */
  save(path: string): void {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, this.toPng());
  }
}

/** Width in pixels of `s` in the 5x7 font at `scale`. */
export function textWidth(s: string, scale = 1): number {
  return [...s].length * (GLYPH_W + 1) * scale;
}

/** Greedy word wrap of `line` into lines at most `width` pixels wide in the 5x7 font (a longer single word stays whole). */
export function wrapText(line: string, width: number, scale = 1): string[] {
  const out: string[] = [];
  let cur = '';
  for (const w of line.split(' ')) {
    const next = cur ? `${cur} ${w}` : w;
    if (cur && textWidth(next, scale) > width) { out.push(cur); cur = w; } else cur = next;
  }
  if (cur) out.push(cur);
  return out;
}
