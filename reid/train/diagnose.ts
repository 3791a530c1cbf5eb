/**
 * `npm run diagnose -- [--checkpoint CKPT] [--profile NAME] [--seed N]`: why does (or doesn't) the loop learn?
 * For the network at its initialisation (or a checkpoint), on the configured data set: the mAP of
 * its features and how DBSCAN clusters the training set (clusters, outliers, purity by identity and
 * by camera), on the raw features as the paper clusters them, on camera-centred ones
 * (cluster/camera-centre.ts), and on camera-centred ones with the profile's same-camera penalty in the
 * k-NN search (the cpu profile's clustering); and, as the floor, the mean mAP of random features
 * (10 draws) under the same protocol.
 * Identities are read for the purities only; this is a diagnosis, not the method.
 */
import { newCommand } from './cli-common.ts';
import { PROFILES, mergeConfig, type ProfileName } from './config.ts';
import { readCheckpoint } from './checkpoint.ts';
import { loadReidData, ImageBatcher, type ReidItem } from './data.ts';
import { buildModel } from './model.ts';
import { extractFeatures, clusterFeatures } from './loop.ts';
import { silentReporter } from './progress.ts';
import { selectBackend } from './backend.ts';
import { cameraCentred } from '../../cluster/camera-centre.ts';
import { clusterPurity } from '../../cluster/purity.ts';
import { evaluate, labelsOf, randomFeaturesMAP } from '../eval/evaluate.ts';
import { Rng } from '../../core/random.ts';

const opts = newCommand('npm run diagnose --', 'mAP and DBSCAN cluster purity of the network at its initialisation or a checkpoint (a diagnosis, not the method)')
  .option('--checkpoint <file>', 'a checkpoint of `npm run train` (default: the network at its initialisation)')
  .option('--profile <name>', 'profile when no checkpoint is given', 'cpu')
  .option('--seed <n>', 'seed of the initialisation', '1')
  .parse()
  .opts();

const ck = opts.checkpoint ? readCheckpoint(opts.checkpoint) : null;
const base = ck ? ck.state.config : PROFILES[opts.profile as ProfileName];
if (!base) throw new Error(`--profile ${opts.profile}: not one of ${Object.keys(PROFILES).join(', ')}`);
const c = mergeConfig(base, { seed: Number(opts.seed) }, 'command line');
const reporter = silentReporter();
await selectBackend(c.backend);
const data = await loadReidData(c, reporter);
const rng = new Rng(c.seed);
const model = buildModel(c, rng, reporter);
if (ck) model.loadStateDict(ck.model, true);
const batcher = new ImageBatcher(data, c, rng);
const D = model.featureDim;
const features = (items: readonly ReidItem[]) => extractFeatures(model, batcher, items, 64, reporter, 'features');
const raw = { train: features(data.train), query: features(data.query), gallery: features(data.gallery) };
const centred = (f: Float32Array, items: readonly ReidItem[]) => cameraCentred(f, items.length, D, items.map((it) => it.camid));

console.log(`${ck ? `checkpoint ${opts.checkpoint}` : `${c.arch} at initialisation (seed ${c.seed})`}, ${data.train.length} training images, eps ${c.eps}, k1 ${c.k1}`);
console.log('| features clustered | mAP | clusters | outliers | purity by identity | purity by camera |');
console.log('|---|---|---|---|---|---|');
const trainCams = data.train.map((it) => it.camid);
const centredAll = { train: centred(raw.train, data.train), query: centred(raw.query, data.query), gallery: centred(raw.gallery, data.gallery) };
const rows = [['raw (the paper)', raw, 0], ['camera-centred', centredAll, 0]] as [string, typeof raw, number][];
if (c.sameCameraPenalty > 0) rows.push([`camera-centred, same-camera penalty ${c.sameCameraPenalty}`, centredAll, c.sameCameraPenalty]);
for (const [name, f, sameCameraPenalty] of rows) {
  const mAP = evaluate(f.query, f.gallery, D, labelsOf(data.query), labelsOf(data.gallery)).mAP;
  const pl = await clusterFeatures(f.train, data.train.length, D, { ...c, sameCameraPenalty }, reporter, trainCams);
  const purity = (key: 'pid' | 'camid') => clusterPurity(pl.labels, data.train.map((it) => it[key])).toFixed(2);
  console.log(`| ${name} | ${(100 * mAP).toFixed(1)}% | ${pl.K} | ${pl.outliers} | ${purity('pid')} | ${purity('camid')} |`);
}
const draws = 10;
const randomMAP = randomFeaturesMAP(labelsOf(data.query), labelsOf(data.gallery), D, draws, 1000);
console.log(`| random (mean of ${draws} draws) | ${(100 * randomMAP).toFixed(1)}% | | | | |`);
