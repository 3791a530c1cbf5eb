/**
 * The library API (reid/api.ts, package.json "exports"): the README's "Library API" example runs as
 * written, importing the package by its name, and its numbers are the trainer's own (the same mAP
 * as the training loop's evaluation of the same checkpoint).
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createModel, extractFeatures, evaluate, loadModel, train } from '../reid/api.ts';
import { PROFILES, mergeConfig } from '../reid/train/config.ts';
import { saveCheckpoint } from '../reid/train/checkpoint.ts';
import { generateSynthetic } from '../reid/data/synthetic.ts';
import { loadDataset } from '../reid/data/datasets.ts';
import { ImageBatcher } from '../reid/train/data.ts';
import { evaluateModel } from '../reid/train/loop.ts';
import { silentReporter } from '../reid/train/progress.ts';
import { Adam } from '../nn/optim.ts';
import { Rng } from '../core/random.ts';

const tmp = mkdtempSync(join(tmpdir(), 'mla-api-'));
const dataRoot = join(tmp, 'data');
generateSynthetic(dataRoot, { trainIdentities: 4, testIdentities: 6, cameras: 2, imagesPerCamera: 3, height: 32, width: 16, distractors: 2 });
const config = { height: 32, width: 16, dataDir: dataRoot };

/** A checkpoint of a model at its (seeded) initialisation: what loadModel reads. */
function checkpointOf(seed: number): string {
  const h = createModel({ config, seed });
  const path = join(tmp, `seed${seed}.safetensors`);
  const c = mergeConfig(PROFILES.cpu, { ...config, seed }, 'test');
  saveCheckpoint(path, h.model, new Adam(h.model.parameters(), { lr: 1e-3 }), new Rng(seed), { epoch: 0, config: c, history: [], start: null, bestMAP: -1 });
  return path;
}

describe('library API', () => {
  it('runs the README example as written, importing the package by name', () => {
    const readme = readFileSync('README.md', 'utf8');
    const section = readme.slice(readme.indexOf('### Library API'));
    const code = /```ts\n([^]*?)```/.exec(section)![1];
    expect(code).toContain(`from 'mla-reid'`);
    // inside the repository, so that 'mla-reid' resolves to this package through its "exports"
    const script = join('spec', `.readme-example-${process.pid}.tmp.ts`);
    writeFileSync(script, code);
    try {
      const ck = checkpointOf(5);
      const r = spawnSync(process.execPath, ['--import', 'tsx', script, ck, dataRoot], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      const m = /^similarity (-?[\d.]+) \| mAP ([\d.]+)% \| rank-1 ([\d.]+)%$/m.exec(r.stdout);
      expect(m, r.stdout).not.toBeNull();
      // the same numbers as the trainer's evaluation of that checkpoint
      const h = loadModel(ck);
      const data = loadDataset(dataRoot);
      const trainer = evaluateModel(h.model, new ImageBatcher(data, h.config, new Rng(1)), data, h.config, silentReporter()).result;
      expect(Number(m![2])).toBeCloseTo(100 * trainer.mAP, 2);
      expect(Number(m![3])).toBeCloseTo(100 * trainer.cmc[0], 2);
    } finally {
      rmSync(script, { force: true });
    }
  }, 120_000);

  it('extracts unit-length features, the same from a path as from the decoded image, deterministic per seed', async () => {
    const data = loadDataset(dataRoot);
    const a = createModel({ config, seed: 3 });
    const b = createModel({ config, seed: 3 });
    const paths = data.query.slice(0, 3).map((it) => it.path);
    const fa = await extractFeatures(a, paths);
    const fb = await extractFeatures(b, paths, { batchSize: 2 });
    expect(Array.from(fb.features)).toEqual(Array.from(fa.features));
    for (let i = 0; i < 3; i++) {
      const row = fa.features.subarray(i * fa.dim, (i + 1) * fa.dim);
      expect(Math.hypot(...row)).toBeCloseTo(1, 5);
    }
    const { readImage } = await import('../reid/data/image.ts');
    const fromImage = await extractFeatures(a, [readImage(paths[1])]);
    expect(Array.from(fromImage.features)).toEqual(Array.from(fa.features.subarray(fa.dim, 2 * fa.dim)));
    const s = await evaluate(a, dataRoot);
    expect(s.mAP).toBeGreaterThan(0);
    expect(s.rank1).toBe(s.cmc[0]);
    await expect(extractFeatures(a, [join(tmp, 'missing.jpg')])).rejects.toThrow(`corrupt or unreadable image ${join(tmp, 'missing.jpg')}`);
  }, 60_000);

  it('trains as npm run train does, into a new folder only', async () => {
    const out = join(tmp, 'run');
    const tiny = { ...config, epochs: 1, iters: 1, P: 2, K: 2, k1: 6, k2: 3, evalAtStart: false, out };
    const r = await train(tiny);
    expect(r.history.map((e) => e.epoch)).toEqual([1]);
    expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'))).toMatchObject({ epochs: 1, out });
    expect(loadModel(join(out, 'last.safetensors')).dim).toBe(r.model.featureDim);
    await expect(train(tiny)).rejects.toThrow(`--out ${out} already holds a run`);
  }, 60_000);
});

process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
