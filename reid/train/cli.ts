/**
 * `npm run train -- [flags]`: the main job. Trains the paper's model without labels and reports how
 * well it re-identifies. With no flags: the CPU profile on the embedded synthetic data set
 * (generated into data/synthetic-market on first use).
 */
import { existsSync, readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { PROFILES, mergeConfig, type ProfileName, type TrainConfig } from './config.ts';
import { readCheckpoint } from './checkpoint.ts';
import { runTraining, evaluateModel, TrainingError } from './loop.ts';
import { terminalReporter } from './progress.ts';
import { loadReidData, ImageBatcher } from './data.ts';
import { buildModel } from './model.ts';
import { selectBackend } from './backend.ts';
import { writePictures, printSummary } from './report.ts';
import { Rng } from '../../core/random.ts';

const number = (flag: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new InvalidArgumentError(`${flag} needs a number, got '${v}'`);
  return n;
};
const integer = (flag: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new InvalidArgumentError(`${flag} needs an integer, got '${v}'`);
  return n;
};

const program = new Command('npm run train --')
  .description('Unsupervised person re-ID with Multi-Level Attention (PLA + HLA + DLA) and ClusterNCE.\n' +
    'With no flags: the CPU profile on the embedded synthetic data set.')
  .addOption(new Option('--profile <name>', 'group of defaults: cpu (small net, 128x64, synthetic data), paper (section 4.2), cluster-contrast').choices(['cpu', 'paper', 'cluster-contrast']).default('cpu'))
  .option('--config <file>', 'JSON file of settings (any key of the config; flags override it)')
  .addOption(new Option('--dataset <name>', 'data set layout').choices(['synthetic', 'market1501', 'dukemtmc', 'msmt17', 'personx', 'folder']))
  .option('--data-dir <dir>', 'data set root (for synthetic: where it is generated when missing)')
  .option('--confound <x>', 'synthetic data only: camera-background confound strength in [0, 1] (default 0.7)', number('--confound'))
  .option('--out <dir>', 'output folder: checkpoints, metrics.jsonl, pictures (default runs/latest)')
  .option('--epochs <n>', 'number of epochs', integer('--epochs'))
  .option('--seed <n>', 'seed of every random choice (init, sampling, augmentation)', integer('--seed'))
  .addOption(new Option('--backend <name>', 'compute backend: cpu (plain TypeScript), gpu (gpu.js webgpu), webasm or gpujs-cpu (gpu.js modes)').choices(['cpu', 'gpu', 'webasm', 'gpujs-cpu']))
  .option('--pla', 'enable pixel-level attention (eq. 3)')
  .option('--no-pla', 'disable pixel-level attention')
  .option('--hla', 'enable head-level attention (BoTNet MHSA)')
  .option('--no-hla', 'disable head-level attention')
  .option('--dla', 'enable domain-level attention (eqs. 4-6)')
  .option('--no-dla', 'disable domain-level attention')
  .option('--baseline', 'no attention at all (same as --no-pla --no-hla --no-dla)')
  .addOption(new Option('--mla-blocks <which>', 'which layer4 bottlenecks carry MLA').choices(['all', 'last']))
  .option('--pretrained <file>', 'weights to start from: torchvision ResNet-50 (.safetensors or .pth) or a checkpoint of this project (its model part)')
  .addOption(new Option('--arch <name>', 'backbone: resnet50, or the CPU-sized small (width 16) / tiny (width 8) variants').choices(['resnet50', 'small', 'tiny']))
  .option('--lr <x>', 'learning rate (Adam)', number('--lr'))
  .option('--eps <x>', 'DBSCAN eps on the Jaccard distance', number('--eps'))
  .option('--iters <n>', 'iterations per epoch (0: one pass over the clustered images)', integer('--iters'))
  .option('--eval-every <n>', 'evaluate every n epochs (and at the end)', integer('--eval-every'))
  .option('--same-camera-penalty <x>', 'added to the squared distance of two images of one camera in the k-NN search, so neighbours from other cameras come first (0: the paper)', number('--same-camera-penalty'))
  .addOption(new Option('--cluster-on <features>', 'features DBSCAN clusters: raw (the paper) or camera-centred (cpu profile; not in the paper)').choices(['raw', 'camera-centred']))
  .option('--supervised', 'diagnosis only: train on the true identities instead of DBSCAN pseudo-labels (an upper bound)')
  .option('--rerank', 'k-reciprocal re-ranking at evaluation')
  .option('--threads <n>', 'worker threads for k-NN (0: one per core)', integer('--threads'))
  .option('--resume [checkpoint]', 'continue from a checkpoint (default <out>/last.safetensors)')
  .option('--eval-only <checkpoint>', 'evaluate a checkpoint and write its pictures; no training')
  .option('--no-pictures', 'skip the PNG pictures at the end')
  .addHelpText('after', `
Examples:
  npm run train                                   # CPU default on the synthetic set (~11 min on 2 cores)
  npm run train -- --baseline --out runs/base     # the same without attention
  npm run train -- --profile paper --dataset market1501 --data-dir ~/data/Market-1501-v15.09.15 \\
                   --pretrained resnet50.safetensors
  npm run train -- --resume --out runs/latest     # continue after Ctrl-C or a crash
  npm run train -- --eval-only runs/latest/best.safetensors`);

function configFrom(opts: Record<string, any>): TrainConfig {
  let config = PROFILES[opts.profile as ProfileName];
  if (opts.config) {
    if (!existsSync(opts.config)) throw new TrainingError(`--config ${opts.config}: file not found`);
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(readFileSync(opts.config, 'utf8'));
    } catch (e) {
      throw new TrainingError(`--config ${opts.config}: not valid JSON (${(e as Error).message})`);
    }
    config = mergeConfig(config, json, `--config ${opts.config}`);
  }
  const mla = { ...config.mla };
  for (const k of ['pla', 'hla', 'dla'] as const) if (opts[k] !== undefined) mla[k] = opts[k];
  if (opts.baseline) Object.assign(mla, { pla: false, hla: false, dla: false });
  if (opts.mlaBlocks) mla.blocks = opts.mlaBlocks;
  const dataset = opts.dataset ?? config.dataset;
  if (dataset !== 'synthetic' && !opts.dataDir && config.dataDir === PROFILES.cpu.dataDir) {
    throw new TrainingError(`--dataset ${dataset} needs --data-dir pointing at its root folder`);
  }
  const synthetic = opts.confound !== undefined ? { confound: opts.confound } : {};
  // a non-default synthetic set gets its own folder, so the default one is not regenerated
  const syntheticDir = opts.confound !== undefined && !opts.dataDir ? `${config.dataDir}-confound${opts.confound}` : undefined;
  return mergeConfig(config, {
    dataset,
    synthetic,
    dataDir: opts.dataDir ?? syntheticDir,
    out: opts.out,
    epochs: opts.epochs,
    seed: opts.seed,
    backend: opts.backend,
    pretrained: opts.pretrained,
    lr: opts.lr,
    arch: opts.arch,
    eps: opts.eps,
    iters: opts.iters,
    evalEvery: opts.evalEvery,
    rerank: opts.rerank,
    threads: opts.threads,
    labels: opts.supervised ? 'ground-truth' : undefined,
    clusterOn: opts.clusterOn,
    sameCameraPenalty: opts.sameCameraPenalty,
    mla,
  }, 'command line');
}

async function main(): Promise<void> {
  program.parse();
  const opts = program.opts();
  const reporter = terminalReporter();
  let config: TrainConfig;
  if (opts.evalOnly) {
    const ck = readCheckpoint(opts.evalOnly);
    config = mergeConfig(ck.state.config, { out: opts.out, dataDir: opts.dataDir, backend: opts.backend }, 'command line');
    reporter.line(`backend: ${await selectBackend(config.backend)}`);
    const rng = new Rng(config.seed);
    const data = await loadReidData(config, reporter);
    const model = buildModel(config, rng, reporter);
    model.loadStateDict(ck.model, true);
    const batcher = new ImageBatcher(data, config, rng);
    const evaluation = evaluateModel(model, batcher, data, config, reporter);
    printSummary(reporter, evaluation.result, `checkpoint ${opts.evalOnly} (epoch ${ck.state.epoch})`);
    if (opts.pictures !== false) await writePictures(config, model, data, ck.state.history, ck.state.start, evaluation, batcher, reporter);
    return;
  }
  config = configFrom(opts);
  reporter.line(`backend: ${await selectBackend(config.backend)}`);
  reporter.line(`profile ${config.profile}, dataset ${config.dataset} (${config.dataDir}), arch ${config.arch} ${config.height}x${config.width}, ` +
    `MLA ${['pla', 'hla', 'dla'].filter((k) => (config.mla as any)[k]).join('+') || 'off (baseline)'} in ${config.mla.blocks} layer4 blocks, ` +
    `${config.epochs} epochs, batch ${config.P}x${config.K}, lr ${config.lr}, eps ${config.eps}, seed ${config.seed}, out ${config.out}`);
  let interrupted = false;
  process.on('SIGINT', () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    reporter.line('\nCtrl-C: stopping after this iteration (press again to quit at once)...');
  });
  const result = await runTraining(config, { reporter, resume: opts.resume, stopRequested: () => interrupted });
  if (result.final && !result.stoppedEarly) {
    printSummary(reporter, result.final.result, `${config.profile} profile, ${config.epochs} epochs`);
    if (opts.pictures !== false) await writePictures(config, result.model, result.data, result.history, result.start, result.final, result.batcher, reporter);
  }
}

main().catch((e) => {
  console.error(`\nerror: ${e?.message ?? e}`);
  if (process.env.MLA_DEBUG === '1') console.error(e?.stack);
  else console.error('(set MLA_DEBUG=1 for the stack trace)');
  process.exit(1);
});
