/** reid/data: the synthetic generator (determinism, layout), the loaders of every layout
 *  (round trips on small generated folders, layout errors), decoding, transforms, batches. */
import { describe, expect, it, beforeAll } from 'vitest';
import fc from 'fast-check';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { Rng } from '../core/random.ts';
import { generateSynthetic, marketName } from '../reid/data/synthetic.ts';
import { encodeJpegRgb } from '../reid/data/jpegEncode.ts';
import { type ReidItem, loadDataset } from '../reid/data/datasets.ts';
import { CorruptImageError, decodeImage, readImage, resizeBilinear } from '../reid/data/image.ts';
import { IMAGENET_MEAN, IMAGENET_STD, testTransform, trainTransform } from '../reid/data/transforms.ts';
import { ImageBatchLoader } from '../reid/data/loader.ts';

const tmp = mkdtempSync(join(tmpdir(), 'reid-data-'));
const small = { trainIdentities: 4, testIdentities: 3, cameras: 3, imagesPerCamera: 2, height: 32, width: 16, distractors: 2 };

function filesOf(root: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const d of ['bounding_box_train', 'query', 'bounding_box_test']) for (const f of readdirSync(join(root, d))) out.set(`${d}/${f}`, readFileSync(join(root, d, f)));
  return out;
}

describe('synthetic data set', () => {
  beforeAll(() => {
    generateSynthetic(join(tmp, 'a'), { ...small, seed: 7 });
    generateSynthetic(join(tmp, 'b'), { ...small, seed: 7 });
    generateSynthetic(join(tmp, 'c'), { ...small, seed: 8 });
  });

  it('is byte-identical for the same seed and differs for another', () => {
    const a = filesOf(join(tmp, 'a')), b = filesOf(join(tmp, 'b')), c = filesOf(join(tmp, 'c'));
    expect([...a.keys()]).toEqual([...b.keys()]);
    for (const [k, v] of a) expect(Buffer.compare(v, b.get(k)!)).toBe(0);
    const same = [...a.keys()].filter((k) => c.has(k) && Buffer.compare(a.get(k)!, c.get(k)!) === 0);
    expect(same.length).toBe(0);
  });

  it('writes the Market-1501 layout the loader reads back with the right counts', () => {
    const ds = loadDataset(join(tmp, 'a'));
    expect(ds.format).toBe('market1501');
    expect(ds.train.length).toBe(4 * 3 * 2);
    expect(ds.numTrainPids).toBe(4);
    expect(ds.query.length).toBe(3 * 3);
    expect(ds.gallery.length).toBe(3 * 3 * 1 + 2);
    expect(ds.gallery.filter((x) => x.pid === 0).length).toBe(2);
    expect(ds.numCameras).toBe(3);
    const img = readImage(ds.train[0].path);
    expect([img.height, img.width]).toEqual([32, 16]);
    // Every query identity has gallery images in other cameras.
    for (const q of ds.query) expect(ds.gallery.some((g) => g.pid === q.pid && g.camid !== q.camid)).toBe(true);
  });

  it('names files as Market-1501 does', () => {
    expect(marketName(2, 1, 1, 451, 3)).toBe('0002_c1s1_000451_03.jpg');
  });

  it('rejects bad options by name', () => {
    expect(() => generateSynthetic(join(tmp, 'bad'), { confound: 2 })).toThrow(/confound/);
    expect(() => generateSynthetic(join(tmp, 'bad'), { imagesPerCamera: 1 })).toThrow(/imagesPerCamera/);
  });

  it('its reused JPEG encoder writes the same bytes as jpeg-js encode()', () => {
    const r = new Rng(3);
    const rgb = Uint8Array.from({ length: 20 * 12 * 3 }, () => r.int(256));
    const rgba = Buffer.alloc(20 * 12 * 4);
    for (let i = 0; i < 240; i++) { rgba.set(rgb.subarray(i * 3, i * 3 + 3), i * 4); rgba[i * 4 + 3] = 255; }
    for (const q of [50, 90, 90]) {
      expect(Buffer.compare(Buffer.from(encodeJpegRgb(rgb, 12, 20, q)), Buffer.from(jpeg.encode({ data: rgba, width: 12, height: 20 }, q).data))).toBe(0);
    }
  });
});

/** A layout's files from (split, pid, cam, k) records; the images are empty files (parsers never open them). */
type Rec = { split: 'train' | 'query' | 'gallery'; pid: number; cam: number; k: number };
const recArb = fc.array(fc.record({
  split: fc.constantFrom('train' as const, 'query' as const, 'gallery' as const),
  pid: fc.integer({ min: -1, max: 30 }),
  cam: fc.integer({ min: 0, max: 5 }),
  k: fc.integer({ min: 0, max: 999 }),
}), { minLength: 1, maxLength: 40 });

function touch(p: string): void {
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, '');
}

/** What the loader must return for the records, under the shared rules, as sorted strings. */
function expected(recs: Rec[], camid: (c: number) => number, pidOut: (p: number) => number) {
  const tr = recs.filter((r) => r.split === 'train' && pidOut(r.pid) > 0);
  const trPids = [...new Set(tr.map((r) => pidOut(r.pid)))].sort((a, b) => a - b);
  const fmt = (pid: number, cam: number) => `${pid}/${cam}`;
  return {
    train: tr.map((r) => fmt(trPids.indexOf(pidOut(r.pid)), camid(r.cam))).sort(),
    query: recs.filter((r) => r.split === 'query' && pidOut(r.pid) > 0).map((r) => fmt(pidOut(r.pid), camid(r.cam))).sort(),
    gallery: recs.filter((r) => r.split === 'gallery' && pidOut(r.pid) >= 0).map((r) => fmt(pidOut(r.pid), camid(r.cam))).sort(),
  };
}
const got = (xs: ReidItem[]) => xs.map((x) => `${x.pid}/${x.camid}`).sort();
/** Only record sets where every split keeps at least one image can load. */
const loadable = (e: ReturnType<typeof expected>) => e.train.length > 0 && e.query.length > 0 && e.gallery.length > 0;

function dedupe(recs: Rec[]): Rec[] {
  const seen = new Set<string>();
  return recs.filter((r) => { const key = `${r.split}${r.pid}${r.cam}${r.k}`; if (seen.has(key)) return false; seen.add(key); return true; });
}

const BOX = { train: 'bounding_box_train', query: 'query', gallery: 'bounding_box_test' } as const;
const pid4 = (p: number) => (p < 0 ? '-1' : String(p).padStart(4, '0'));
let caseNo = 0;
const fresh = () => join(tmp, `layout-${caseNo++}`);

describe('loader round trips', () => {
  it('Market-1501', () => {
    fc.assert(fc.property(recArb, (raw) => {
      const recs = dedupe(raw), root = fresh();
      for (const d of Object.values(BOX)) mkdirSync(join(root, d), { recursive: true });
      for (const r of recs) touch(join(root, BOX[r.split], `${pid4(r.pid)}_c${r.cam + 1}s1_${String(r.k).padStart(6, '0')}_01.jpg`));
      const e = expected(recs, (c) => c, (p) => p);
      if (!loadable(e)) { expect(() => loadDataset(root, 'market1501')).toThrow(/no usable images|no images/); return; }
      const ds = loadDataset(root);
      expect(ds.format).toBe('market1501');
      expect([got(ds.train), got(ds.query), got(ds.gallery)]).toEqual([e.train, e.query, e.gallery]);
    }), { numRuns: 25 });
  });

  it('DukeMTMC-reID', () => {
    fc.assert(fc.property(recArb, (raw) => {
      const recs = dedupe(raw), root = join(fresh(), 'DukeMTMC-reID');
      for (const d of Object.values(BOX)) mkdirSync(join(root, d), { recursive: true });
      for (const r of recs) touch(join(root, BOX[r.split], `${pid4(r.pid)}_c${r.cam + 1}_f${String(r.k).padStart(7, '0')}.jpg`));
      const e = expected(recs, (c) => c, (p) => p);
      if (!loadable(e)) return;
      const ds = loadDataset(root);
      expect(ds.format).toBe('dukemtmc');
      expect([got(ds.train), got(ds.query), got(ds.gallery)]).toEqual([e.train, e.query, e.gallery]);
    }), { numRuns: 15 });
  });

  it('MSMT17, converted layout (pid 0 is a person: reported as pid + 1)', () => {
    fc.assert(fc.property(recArb, (raw) => {
      const recs = dedupe(raw), root = join(fresh(), 'MSMT17');
      for (const d of Object.values(BOX)) mkdirSync(join(root, d), { recursive: true });
      // two-digit cameras up to 15
      for (const r of recs) touch(join(root, BOX[r.split], `${pid4(r.pid)}_c${r.cam * 2 + 1}_${String(r.k).padStart(4, '0')}.jpg`));
      const e = expected(recs, (c) => c * 2, (p) => (p < 0 ? p : p + 1));
      if (!loadable(e)) return;
      const ds = loadDataset(root);
      expect(ds.format).toBe('msmt17');
      expect([got(ds.train), got(ds.query), got(ds.gallery)]).toEqual([e.train, e.query, e.gallery]);
    }), { numRuns: 15 });
  });

  it('MSMT17, original list layout', () => {
    fc.assert(fc.property(recArb, fc.boolean(), (raw, includeVal) => {
      const recs = dedupe(raw.map((r) => ({ ...r, pid: Math.max(0, r.pid) }))), root = fresh();
      // train records with odd k go to list_val.txt
      const lines: Record<string, string[]> = { train: [], val: [], query: [], gallery: [] };
      for (const r of recs) {
        const rel = `${pid4(r.pid)}/${pid4(r.pid)}_${String(r.k).padStart(3, '0')}_${String(r.cam + 1).padStart(2, '0')}_0302morning_0001_0.jpg`;
        touch(join(root, r.split === 'train' ? 'train' : 'test', rel));
        lines[r.split === 'train' && r.k % 2 ? 'val' : r.split].push(`${rel} ${r.pid}`);
      }
      for (const [k, v] of Object.entries(lines)) writeFileSync(join(root, `list_${k}.txt`), v.join('\n') + '\n');
      const kept = recs.filter((r) => !(r.split === 'train' && r.k % 2 && !includeVal));
      const e = expected(kept, (c) => c, (p) => p + 1);
      if (!loadable(e) || (includeVal && lines.val.length === 0) || lines.train.length === 0) return;
      const ds = loadDataset(root, 'auto', { includeVal });
      expect(ds.format).toBe('msmt17');
      expect([got(ds.train), got(ds.query), got(ds.gallery)]).toEqual([e.train, e.query, e.gallery]);
    }), { numRuns: 15 });
  });

  it('PersonX (cameras 3, 4, 8, 10, 11, 12 -> 0..5)', () => {
    const cams = [3, 4, 8, 10, 11, 12];
    fc.assert(fc.property(recArb, (raw) => {
      const recs = dedupe(raw), root = join(fresh(), 'PersonX');
      for (const d of Object.values(BOX)) mkdirSync(join(root, d), { recursive: true });
      for (const r of recs) touch(join(root, BOX[r.split], `${pid4(r.pid)}_c${cams[r.cam]}_${String(r.k).padStart(4, '0')}.jpg`));
      const e = expected(recs, (c) => c, (p) => p);
      if (!loadable(e)) return;
      const ds = loadDataset(root);
      expect(ds.format).toBe('personx');
      expect([got(ds.train), got(ds.query), got(ds.gallery)]).toEqual([e.train, e.query, e.gallery]);
    }), { numRuns: 15 });
  });

  it('plain folders (train|query|gallery/<person>/<camera>/image)', () => {
    fc.assert(fc.property(recArb, (raw) => {
      const recs = dedupe(raw), root = fresh();
      for (const s of ['train', 'query', 'gallery']) mkdirSync(join(root, s), { recursive: true });
      const person = (r: Rec) => (r.pid <= 0 ? (r.split === 'gallery' ? '_distractors' : 'p0') : `p${r.pid}`);
      for (const r of recs) touch(join(root, r.split, person(r), `cam${r.cam}`, `${r.k}.png`));
      // Names map to 1..P in sorted order of all person names; cameras to sorted camera names.
      const names = [...new Set(recs.map(person).filter((n) => n !== '_distractors'))].sort();
      const camNames = [...new Set(recs.map((r) => `cam${r.cam}`))].sort();
      const pidOut = (r: Rec) => (person(r) === '_distractors' ? 0 : names.indexOf(person(r)) + 1);
      const tr = recs.filter((r) => r.split === 'train');
      const trPids = [...new Set(tr.map(pidOut))].sort((a, b) => a - b);
      const e = {
        train: tr.map((r) => `${trPids.indexOf(pidOut(r))}/${camNames.indexOf(`cam${r.cam}`)}`).sort(),
        query: recs.filter((r) => r.split === 'query').map((r) => `${pidOut(r)}/${camNames.indexOf(`cam${r.cam}`)}`).sort(),
        gallery: recs.filter((r) => r.split === 'gallery').map((r) => `${pidOut(r)}/${camNames.indexOf(`cam${r.cam}`)}`).sort(),
      };
      if (!loadable(e)) return;
      const ds = loadDataset(root);
      expect(ds.format).toBe('folder');
      expect([got(ds.train), got(ds.query), got(ds.gallery)]).toEqual([e.train, e.query, e.gallery]);
    }), { numRuns: 15 });
  });

  it('a partial layout names what is missing and what was found', () => {
    const root = fresh();
    mkdirSync(join(root, 'bounding_box_train'), { recursive: true });
    mkdirSync(join(root, 'query'), { recursive: true });
    writeFileSync(join(root, 'readme.txt'), '');
    expect(() => loadDataset(root, 'market1501')).toThrow(/missing bounding_box_test\/.*Found: bounding_box_train\/, query\/, readme.txt/);
    expect(() => loadDataset(root)).toThrow(/not a known re-ID layout.*Found:/);
    mkdirSync(join(root, 'bounding_box_test'));
    touch(join(root, 'bounding_box_train', '0001_c1s1_000001_01.jpg'));
    expect(() => loadDataset(root, 'market1501')).toThrow(/query: no images named PPPP_cCsS.*\(found: \(empty\)\)/);
    touch(join(root, 'query', 'holiday.jpg'));
    expect(() => loadDataset(root, 'market1501')).toThrow(/holiday.jpg: the file name does not match PPPP_cCsS/);
  });
});

describe('images, transforms and batches', () => {
  const rgbImage = (seed: number, h: number, w: number) => {
    const r = new Rng(seed);
    return { width: w, height: h, data: Uint8Array.from({ length: h * w * 3 }, () => r.int(256)) };
  };

  it('decodes PNG exactly and JPEG closely; a corrupt file is reported by its path', () => {
    const img = rgbImage(1, 6, 5);
    const png = new PNG({ width: 5, height: 6 });
    for (let i = 0; i < 30; i++) { png.data.set(img.data.subarray(i * 3, i * 3 + 3), i * 4); png.data[i * 4 + 3] = 255; }
    const p = join(tmp, 'x.png');
    writeFileSync(p, PNG.sync.write(png));
    expect(Array.from(readImage(p).data)).toEqual(Array.from(img.data));
    const flat = { width: 8, height: 8, data: new Uint8Array(192).fill(120) };
    const j = decodeImage(encodeJpegRgb(flat.data, 8, 8, 95));
    for (const v of j.data) expect(Math.abs(v - 120)).toBeLessThanOrEqual(2);
    const bad = join(tmp, 'broken.jpg');
    writeFileSync(bad, Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]));
    expect(() => readImage(bad)).toThrow(CorruptImageError);
    expect(() => readImage(bad)).toThrow(new RegExp(bad.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')));
    writeFileSync(join(tmp, 'text.jpg'), 'hello');
    expect(() => readImage(join(tmp, 'text.jpg'))).toThrow(/text.jpg: not a JPEG or PNG/);
  });

  it('halving by bilinear resize averages 2x2 blocks; same size is a copy', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 1e9 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 6 }), (seed, h, w) => {
      const img = rgbImage(seed, 2 * h, 2 * w);
      const out = resizeBilinear(img, h, w);
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) {
        const at = (yy: number, xx: number) => img.data[(yy * 2 * w + xx) * 3 + c];
        const avg = (at(2 * y, 2 * x) + at(2 * y, 2 * x + 1) + at(2 * y + 1, 2 * x) + at(2 * y + 1, 2 * x + 1)) / 4;
        expect(Math.abs(out.data[(y * w + x) * 3 + c] - avg)).toBeLessThanOrEqual(0.5 + 1e-9);
      }
      expect(Array.from(resizeBilinear(img, 2 * h, 2 * w).data)).toEqual(Array.from(img.data));
    }), { numRuns: 50 });
  });

  it('test transform is ImageNet normalisation in CHW', () => {
    const img = rgbImage(2, 4, 3);
    const out = new Float32Array(36);
    testTransform(img, out, 0);
    for (let c = 0; c < 3; c++) for (let i = 0; i < 12; i++) expect(out[c * 12 + i]).toBeCloseTo((img.data[i * 3 + c] / 255 - IMAGENET_MEAN[c]) / IMAGENET_STD[c], 5);
  });

  it('train transform: without randomness it is the test transform; flips mirror; pad+crop shifts; erasing fills the mean', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 1e9 }), (seed) => {
      const img = rgbImage(seed, 12, 8), n = 3 * 96;
      const ref = new Float32Array(n);
      testTransform(img, ref, 0);
      const plain = new Float32Array(n);
      trainTransform(img, new Rng(seed), plain, 0, { flipP: 0, pad: 0, erasingP: 0, erasingArea: [0.02, 0.4], erasingMinAspect: 0.3 });
      expect(Array.from(plain)).toEqual(Array.from(ref));
      const flipped = new Float32Array(n);
      trainTransform(img, new Rng(seed), flipped, 0, { flipP: 1, pad: 0, erasingP: 0, erasingArea: [0.02, 0.4], erasingMinAspect: 0.3 });
      for (let c = 0; c < 3; c++) for (let y = 0; y < 12; y++) for (let x = 0; x < 8; x++) expect(flipped[c * 96 + y * 8 + x]).toBe(ref[c * 96 + y * 8 + 7 - x]);
      // Pad + crop: the output is the input shifted, with black (normalised 0) outside.
      const shifted = new Float32Array(n);
      trainTransform(img, new Rng(seed), shifted, 0, { flipP: 0, pad: 3, erasingP: 0, erasingArea: [0.02, 0.4], erasingMinAspect: 0.3 });
      const black = (c: number) => -IMAGENET_MEAN[c] / IMAGENET_STD[c];
      let matched = false;
      for (let dy = -3; dy <= 3 && !matched; dy++) for (let dx = -3; dx <= 3 && !matched; dx++) {
        let ok = true;
        for (let c = 0; c < 3 && ok; c++) for (let y = 0; y < 12 && ok; y++) for (let x = 0; x < 8 && ok; x++) {
          const sy = y + dy, sx = x + dx;
          const want = sy >= 0 && sy < 12 && sx >= 0 && sx < 8 ? ref[c * 96 + sy * 8 + sx] : black(c);
          ok = Math.abs(shifted[c * 96 + y * 8 + x] - want) < 1e-6;
        }
        matched = ok;
      }
      expect(matched).toBe(true);
      const erased = new Float32Array(n);
      trainTransform(img, new Rng(seed), erased, 0, { flipP: 0, pad: 0, erasingP: 1, erasingArea: [0.02, 0.4], erasingMinAspect: 0.3 });
      let changed = 0;
      for (let c = 0; c < 3; c++) for (let i = 0; i < 96; i++) {
        if (erased[c * 96 + i] !== ref[c * 96 + i]) { changed++; expect(erased[c * 96 + i]).toBeCloseTo(IMAGENET_MEAN[c], 6); }
      }
      expect(changed).toBeGreaterThan(0);
    }), { numRuns: 30 });
  });

  it('batches: [N,3,H,W], seeded train batches repeat, corrupt images stop or are skipped by path', () => {
    const root = join(tmp, 'a');
    const ds = loadDataset(root);
    const loader = new ImageBatchLoader({ height: 32, width: 16 });
    const items = ds.train.slice(0, 5);
    const t = loader.batch(items, 'test');
    expect(t.n).toBe(5);
    expect(t.data.length).toBe(5 * 3 * 32 * 16);
    const a = loader.batch(items, 'train', new Rng(9));
    const b = loader.batch(items, 'train', new Rng(9));
    expect(Array.from(a.data)).toEqual(Array.from(b.data));
    expect([...loader.batches(ds.train, 7, 'test')].map((x) => x.n)).toEqual([7, 7, 7, 3]);
    const bad = join(tmp, 'corrupt', '0001_c1s1_000001_01.jpg');
    mkdirSync(dirname(bad), { recursive: true });
    writeFileSync(bad, Buffer.from([0xff, 0xd8, 0xff, 0xdb, 0, 0]));
    const withBad = [items[0], { path: bad, pid: 0, camid: 0 }, items[1]];
    expect(() => new ImageBatchLoader({ height: 32, width: 16 }).batch(withBad, 'test')).toThrow(/corrupt.*0001_c1s1_000001_01.jpg/);
    const warnings: string[] = [];
    const skipping = new ImageBatchLoader({ height: 32, width: 16, onCorrupt: 'skip', warn: (m) => warnings.push(m) });
    const s = skipping.batch(withBad, 'test');
    expect(s.n).toBe(2);
    expect(s.items.map((x) => x.path)).toEqual([items[0].path, items[1].path]);
    expect(s.skipped[0].path).toBe(bad);
    expect(warnings.length).toBe(1);
    expect(Array.from(s.data)).toEqual(Array.from(loader.batch([items[0], items[1]], 'test').data));
  });
});

process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
