/**
 * The checks that keep bad input from becoming a wrong result (issue 13), without a training run:
 * every config key validated (nested ones too), a resumed run's settings, the synthetic generator's
 * folder rule, layouts that must agree with --dataset, the README's `<person>/*.jpg` folder layout,
 * strict JPEG decoding, checkpoint metadata under the checksum, a non-finite model never saved,
 * weight-file errors naming file and tensor, and the run folder's rules.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PROFILES, assertResumable, mergeConfig, validateConfig } from '../reid/train/config.ts';
import { generateSynthetic } from '../reid/data/synthetic.ts';
import { layoutDisagreement, loadDataset } from '../reid/data/datasets.ts';
import { decodeImage } from '../reid/data/image.ts';
import { encodeJpegRgb } from '../reid/data/jpegEncode.ts';
import { readCheckpoint, saveCheckpoint } from '../reid/train/checkpoint.ts';
import { buildModel } from '../reid/train/model.ts';
import { silentReporter } from '../reid/train/progress.ts';
import { Adam } from '../nn/optim.ts';
import { Rng } from '../core/random.ts';
import { readStateDict } from '../nn/weights.ts';
import { prepareRunFolder } from '../reid/train/run-folder.ts';

const tmp = mkdtempSync(join(tmpdir(), 'mla-checks-'));
const touch = (p: string, bytes: string | Uint8Array = '') => { mkdirSync(dirname(p), { recursive: true }); writeFileSync(p, bytes); };

describe('config: every key checked, nested ones too', () => {
  const bad: [Record<string, unknown>, string][] = [
    [{ iters: -1 }, `setting 'iters' (--iters) must be an integer >= 0, got -1`],
    [{ threads: -2 }, `setting 'threads' (--threads) must be an integer >= 0, got -2`],
    [{ epochs: 1.5 }, `setting 'epochs' (--epochs) must be an integer >= 1`],
    [{ lr: 'fast' }, `setting 'lr' (--lr) must be a finite number > 0, got "fast"`],
    [{ pooling: 'max' }, `setting 'pooling' must be one of avg, gem`],
    [{ weightDecay: -1 }, `setting 'weightDecay' must be a finite number >= 0`],
    [{ memoryInit: 'zeros' }, `setting 'memoryInit' must be one of random, centroid`],
    [{ evalAtStart: 'yes' }, `setting 'evalAtStart' must be true or false`],
    [{ pretrained: '' }, `setting 'pretrained' (--pretrained) must be a non-empty path`],
    [{ learningRate: 1 }, `unknown setting 'learningRate'`],
    [{ mla: { pla: 1 } }, `setting 'mla.pla' (--pla/--no-pla) must be true or false, got 1`],
    [{ mla: { attention: true } }, `unknown setting 'mla.attention' (known: mla.pla, mla.hla, mla.dla, mla.blocks)`],
    [{ synthetic: { confund: 0.9 } }, `unknown setting 'synthetic.confund'`],
    [{ synthetic: { confound: 2 } }, 'synthetic data: option confound must be in [0, 1], got 2'],
    [{ synthetic: 'big' }, `setting 'synthetic' must be an object`],
  ];
  for (const [over, msg] of bad) {
    it(`refuses ${JSON.stringify(over)}`, () => expect(() => mergeConfig(PROFILES.cpu, over, 'test')).toThrow(`test: ${msg}`));
  }

  it('accepts every profile as it is, and a valid nested override', () => {
    for (const p of Object.values(PROFILES)) expect(() => validateConfig(p, 'profile')).not.toThrow();
    const c = mergeConfig(PROFILES.cpu, { mla: { hla: false }, synthetic: { confound: 0.2 } }, 'test');
    expect(c.mla).toEqual({ ...PROFILES.cpu.mla, hla: false });
    expect(c.synthetic).toEqual({ confound: 0.2 });
  });

  it('a resumed run may change the schedule only', () => {
    const saved = PROFILES.cpu;
    expect(() => assertResumable(saved, mergeConfig(saved, { epochs: 20, evalEvery: 2, threads: 1, out: 'x' }, 't'), 'ck')).not.toThrow();
    expect(() => assertResumable(saved, mergeConfig(saved, { eps: 0.3, mla: { dla: false } }, 't'), 'ck'))
      .toThrow(`--resume ck: the checkpoint was trained with other data or model settings; 'mla.dla' (--dla/--no-dla) true -> false, 'eps' (--eps) 0.6 -> 0.3.`);
  });
});

describe('data folders', () => {
  it('the synthetic generator writes only into a new or empty folder or one it made', () => {
    const small = { trainIdentities: 2, testIdentities: 2, cameras: 2, imagesPerCamera: 2, height: 16, width: 8, distractors: 0 };
    const mine = join(tmp, 'user-data');
    touch(join(mine, 'bounding_box_train', '0001_c1s1_000001_01.jpg'), 'precious');
    expect(() => generateSynthetic(mine, small)).toThrow(`${mine}: refusing to write the synthetic data set here: the folder holds files this generator did not write (bounding_box_train)`);
    expect(readFileSync(join(mine, 'bounding_box_train', '0001_c1s1_000001_01.jpg'), 'utf8')).toBe('precious');
    const empty = join(tmp, 'empty');
    mkdirSync(empty);
    generateSynthetic(empty, small);
    generateSynthetic(empty, { ...small, seed: 2 }); // its own folder: replaced
    expect(JSON.parse(readFileSync(join(empty, 'synthetic.json'), 'utf8'))).toMatchObject({ complete: true, options: { seed: 2 } });
  });

  it('a layout must agree with --dataset', () => {
    const market = join(tmp, 'Market');
    for (const d of ['bounding_box_train', 'query', 'bounding_box_test']) touch(join(market, d, '0002_c1s1_000451_03.jpg'));
    const duke = join(tmp, 'D');
    for (const d of ['bounding_box_train', 'query', 'bounding_box_test']) touch(join(duke, d, '0001_c2_f0046182.jpg'));
    const folder = join(tmp, 'F');
    for (const d of ['train', 'query', 'gallery']) touch(join(folder, d, 'anna', 'c1_0.jpg'));
    expect(layoutDisagreement(market, 'market1501')).toBeNull();
    expect(layoutDisagreement(market, 'folder')).toContain(`${market} holds a market1501 layout (bounding_box_test/, bounding_box_train/, query/), not folder: give --dataset market1501`);
    expect(layoutDisagreement(duke, 'market1501')).toContain('its images are named like dukemtmc (0001_c2_f0046182.jpg), not market1501: give --dataset dukemtmc');
    expect(layoutDisagreement(folder, 'personx')).toContain('holds a folder layout');
  });

  it('reads the README\'s folder layout <person>/*.jpg with the camera in the name, beside <person>/<camera>/', () => {
    const root = join(tmp, 'people');
    touch(join(root, 'train', 'anna', '0001_c3_01.jpg'));
    touch(join(root, 'train', 'anna', 'c1-front.png'));
    touch(join(root, 'train', 'bob', 'cam2', 'x.jpg'));
    touch(join(root, 'query', 'anna', 'img_c2_7.jpg'));
    touch(join(root, 'gallery', 'anna', 'c3.jpg'));
    const ds = loadDataset(root, 'folder');
    expect(ds.train.map((x) => [x.path.slice(root.length), x.camid])).toEqual([
      ['/train/anna/0001_c3_01.jpg', 2], ['/train/anna/c1-front.png', 0], ['/train/bob/cam2/x.jpg', 3]]);
    expect(ds.query[0].pid).toBe(ds.gallery[0].pid);
    touch(join(root, 'train', 'carl', 'photo.jpg'));
    expect(() => loadDataset(root, 'folder')).toThrow(`${join(root, 'train', 'carl', 'photo.jpg')}: no camera in the file name`);
  });

  it('decodes JPEGs strictly: a truncated one is an error naming the file', () => {
    const jpg = encodeJpegRgb(new Uint8Array(16 * 8 * 3).fill(90), 8, 16, 90);
    expect(decodeImage(jpg, 'good.jpg').width).toBe(8);
    expect(() => decodeImage(jpg.subarray(0, jpg.length - 2), 'cut.jpg')).toThrow('corrupt or unreadable image cut.jpg: truncated JPEG: no end-of-image marker');
  });
});

describe('checkpoints and weight files', () => {
  const c = mergeConfig(PROFILES.cpu, { height: 32, width: 16 }, 'test');
  const model = buildModel(c, new Rng(1), silentReporter());
  const state = { epoch: 1, config: c, history: [{ epoch: 1, clusters: 3, outliers: 1, loss: 1, lr: 1e-3, seconds: 1 }], start: null, bestMAP: 0.1 };
  const path = join(tmp, 'ck.safetensors');
  saveCheckpoint(path, model, new Adam(model.parameters(), { lr: 1e-3 }), new Rng(1), state);

  it('the checksum covers the metadata: an edited epoch is refused', () => {
    expect(readCheckpoint(path).state.epoch).toBe(1);
    const bytes = readFileSync(path);
    const text = bytes.toString('latin1');
    const at = text.indexOf('"epoch":"1"');
    expect(at).toBeGreaterThan(0);
    const edited = Buffer.from(bytes);
    edited.write('"epoch":"2"', at, 'latin1');
    writeFileSync(join(tmp, 'edited.safetensors'), edited);
    expect(() => readCheckpoint(join(tmp, 'edited.safetensors'))).toThrow(/edited\.safetensors: checksum mismatch: the tensor data or metadata is corrupt/);
  });

  it('a model with a non-finite value is never saved', () => {
    const [name, p] = model.namedParameters()[3];
    const keep = p.data[0];
    p.data[0] = NaN;
    const bad = join(tmp, 'nan.safetensors');
    expect(() => saveCheckpoint(bad, model, new Adam(model.parameters(), { lr: 1e-3 }), new Rng(1), state))
      .toThrow(`checkpoint ${bad}: not written: the model holds 1 non-finite values (first: '${name}'[0] = NaN)`);
    p.data[0] = keep;
    expect(existsSync(bad)).toBe(false);
    expect(readdirSync(tmp).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('weight-file errors name the file (and the tensor)', () => {
    const legacy = readFileSync('spec/fixtures/resnet50-small-weights-legacy.pth');
    const cut = join(tmp, 'cut-legacy.pth');
    writeFileSync(cut, legacy.subarray(0, legacy.length - 5000));
    expect(() => readStateDict(cut)).toThrow(new RegExp(`weights: '${cut}' is truncated: storage \\S+ \\(tensor '[^']+'\\)`));
    const st = readFileSync('spec/fixtures/resnet50-small-weights.safetensors');
    const broken = Buffer.from(st);
    broken[9] = 0x7d; // '}' in the JSON header
    writeFileSync(join(tmp, 'broken.safetensors'), broken);
    expect(() => readStateDict(join(tmp, 'broken.safetensors'))).toThrow(`${join(tmp, 'broken.safetensors')}: corrupt JSON header`);
    const short = join(tmp, 'short.safetensors');
    writeFileSync(short, st.subarray(0, st.length - 100));
    expect(() => readStateDict(short)).toThrow(new RegExp(`${short} \\(tensor '[^']+'\\): truncated: data_offsets`));
  });

  it('the cpu profile says which --arch ResNet-50 weights need', () => {
    const big = mergeConfig(PROFILES.cpu, { pretrained: 'spec/fixtures/resnet50-small-weights.safetensors' }, 'test');
    expect(() => buildModel(big, new Rng(1), silentReporter())).toThrow(/This run's arch is 'tiny'; ResNet-50 weights need --arch resnet50/);
  });
});

describe('run folder', () => {
  it('removes stale temporary files, refuses a folder with a checkpoint, clears only run files with overwrite', () => {
    const out = join(tmp, 'run');
    touch(join(out, 'last.safetensors.tmp-4242'), 'half');
    touch(join(out, 'notes.md'), 'mine');
    expect(prepareRunFolder(out, { a: 1 }, {})).toEqual(['last.safetensors.tmp-4242']);
    expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'))).toEqual({ a: 1 });
    // config.json and metrics.jsonl without a checkpoint: a run that stopped before saving, replaced
    touch(join(out, 'metrics.jsonl'), '{"epoch":0}');
    prepareRunFolder(out, { a: 2 }, {});
    expect(readdirSync(out).sort()).toEqual(['config.json', 'notes.md']);
    touch(join(out, 'last.safetensors'), 'a checkpoint');
    expect(() => prepareRunFolder(out, { a: 2 }, {})).toThrow(`--out ${out} already holds a run (config.json, last.safetensors)`);
    expect(() => prepareRunFolder(out, { a: 2 }, { resumeFrom: join(out, 'last.safetensors') })).not.toThrow();
    expect(() => prepareRunFolder(out, { a: 2 }, { resumeFrom: join(tmp, 'elsewhere', 'last.safetensors') }))
      .toThrow(`--out ${out} already holds a run (config.json, last.safetensors) whose last checkpoint is not ${join(tmp, 'elsewhere', 'last.safetensors')}`);
    prepareRunFolder(out, { a: 3 }, { overwrite: true });
    expect(readdirSync(out).sort()).toEqual(['config.json', 'notes.md']);
  });
});

process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
