/**
 * `npm run train -- [flags]`: the main job. Trains the paper's model without labels and reports how
 * well it re-identifies. With no flags: the CPU profile on the embedded synthetic data set
 * (generated into data/synthetic-market on first use).
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { InvalidArgumentError, Option } from 'commander';
import { BACKENDS, PROFILES, assertResumable, configDifferences, mergeConfig, type ProfileName, type TrainConfig } from './config.ts';
import { readCheckpoint } from './checkpoint.ts';
import { runTraining, evaluateModel } from './loop.ts';
import { prepareRunFolder } from './run-folder.ts';
import { EXIT, UsageError, newCommand, onInterrupt, relaunchOutsideTsxWatchdog, runMain } from './cli-common.ts';
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
const integer = (flag: string, min = -Infinity) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new InvalidArgumentError(`${flag} needs an integer, got '${v}'`);
  if (n < min) throw new InvalidArgumentError(`${flag} needs an integer >= ${min}, got ${n}`);
  return n;
};

const program = newCommand('npm run train --', 'Unsupervised person re-ID with Multi-Level Attention (PLA + HLA + DLA) and ClusterNCE.\n' +
    'With no flags: the CPU profile on the embedded synthetic data set.')
  .addOption(new Option('--profile <name>', 'group of defaults: cpu (small net, 128x64, synthetic data; the default), paper (section 4.2), cluster-contrast').choices(['cpu', 'paper', 'cluster-contrast']))
  .option('--config <file>', 'JSON file of settings (any key of the config; flags override it)')
  .addOption(new Option('--dataset <name>', 'data set layout').choices(['synthetic', 'market1501', 'dukemtmc', 'msmt17', 'personx', 'folder']))
  .option('--data-dir <dir>', 'data set root (for synthetic: where it is generated, only into a new or empty folder or one it generated)')
  .option('--confound <x>', 'synthetic data only: camera-background confound strength in [0, 1] (default 0.7)', number('--confound'))
  .option('--out <dir>', 'output folder: checkpoints, metrics.jsonl, config.json, pictures (default runs/latest); a used one is refused without --resume or --overwrite')
  .option('--overwrite', 'replace the run files of a used --out folder (config.json, metrics.jsonl, last/best.safetensors, the PNGs)')
  .option('--epochs <n>', 'number of epochs', integer('--epochs', 1))
  .option('--seed <n>', 'seed of every random choice (init, sampling, augmentation)', integer('--seed', 0))
  .addOption(new Option('--backend <name>', 'compute backend: wasm (WebAssembly SIMD, the default), cpu (plain TypeScript reference), gpu (gpu.js webgpu), webasm or gpujs-cpu (gpu.js modes), webgpu (device-resident, experimental)').choices(BACKENDS))
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
  .option('--iters <n>', 'iterations per epoch (0: one pass over the clustered images)', integer('--iters', 0))
  .option('--eval-every <n>', 'evaluate every n epochs (and at the end)', integer('--eval-every', 1))
  .option('--same-camera-penalty <x>', 'added to the squared distance of two images of one camera in the k-NN search, so neighbours from other cameras come first (0: the paper)', number('--same-camera-penalty'))
  .addOption(new Option('--cluster-on <features>', 'features DBSCAN clusters: raw (the paper) or camera-centred (cpu profile; not in the paper)').choices(['raw', 'camera-centred']))
  .option('--supervised', 'diagnosis only: train on the true identities instead of DBSCAN pseudo-labels (an upper bound)')
  .option('--rerank', 'k-reciprocal re-ranking at evaluation')
  .option('--threads <n>', 'worker threads for k-NN (0: one per core)', integer('--threads', 0))
  .option('--skip-corrupt', 'leave corrupt images out (with a warning) instead of stopping; every image is decoded before training')
  .option('--resume [checkpoint]', 'continue from a checkpoint (default <out>/last.safetensors) with its settings; only --epochs, --eval-every, --threads, --backend, --rerank may change')
  .option('--eval-only <checkpoint>', 'evaluate a checkpoint (on its data set, or --dataset/--data-dir) and write its pictures to --out (default <checkpoint folder>/eval-<name>); no training')
  .option('--no-pictures', 'skip the PNG pictures at the end')
  .addHelpText('after', `
Examples:
  npm run train                                   # CPU default on the synthetic set (~11 min on 2 cores)
  npm run train -- --baseline --out runs/base     # the same without attention
  npm run train -- --profile paper --dataset market1501 --data-dir ~/data/Market-1501-v15.09.15 \\
                   --pretrained resnet50.safetensors
  npm run train -- --resume --out runs/latest     # continue after Ctrl-C or a crash
  npm run train -- --eval-only runs/latest/best.safetensors

Exit status: 0 finished, 1 error, 2 bad flag, 3 diverged (nothing of it saved), 4 collapsed (the last
epoch found fewer than 2 clusters), 130 interrupted (Ctrl-C / SIGTERM; continue with --resume).`);

/** The settings given on the command line (only those given), as config keys. */
function flagSettings(opts: Record<string, any>): Record<string, unknown> {
  const mla: Record<string, unknown> = {};
  for (const k of ['pla', 'hla', 'dla'] as const) if (program.getOptionValueSource(k) === 'cli') mla[k] = opts[k];
  if (opts.baseline) Object.assign(mla, { pla: false, hla: false, dla: false });
  if (opts.mlaBlocks) mla.blocks = opts.mlaBlocks;
  const flags: Record<string, unknown> = {
    profile: opts.profile,
    dataset: opts.dataset,
    synthetic: opts.confound !== undefined ? { confound: opts.confound } : undefined,
    dataDir: opts.dataDir,
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
    onCorrupt: opts.skipCorrupt ? 'skip' : undefined,
    mla: Object.keys(mla).length ? mla : undefined,
  };
  return Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined));
}

function readConfigFile(file: string): Record<string, unknown> {
  if (!existsSync(file)) throw new UsageError(`--config ${file}: file not found`);
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UsageError(`--config ${file}: not valid JSON (${(e as Error).message})`);
  }
}

/** A config error is a usage error (exit 2): nothing was started. */
function merge(base: TrainConfig, over: Record<string, unknown>, source: string): TrainConfig {
  try {
    return mergeConfig(base, over, source);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** A new run's config: the profile, then --config, then the flags. */
function newRunConfig(opts: Record<string, any>): TrainConfig {
  let config = PROFILES[(opts.profile ?? 'cpu') as ProfileName];
  if (opts.config) config = merge(config, readConfigFile(opts.config), `--config ${opts.config}`);
  const flags = flagSettings(opts);
  const dataset = (flags.dataset ?? config.dataset) as string;
  if (dataset !== 'synthetic' && !opts.dataDir && config.dataDir === PROFILES.cpu.dataDir) {
    throw new UsageError(`--dataset ${dataset} needs --data-dir pointing at its root folder`);
  }
  // a non-default synthetic set gets its own folder, so the default one is not regenerated
  if (opts.confound !== undefined && !opts.dataDir) flags.dataDir = `${config.dataDir}-confound${opts.confound}`;
  return merge(config, flags, 'command line');
}

/**
 * A resumed run's config: the checkpoint's, with only the schedule flags applied (and logged); a
 * flag that would change the data, the model or the optimisation is refused.
 */
function resumeConfig(opts: Record<string, any>, checkpoint: string, say: (line: string) => void): TrainConfig {
  const saved = readCheckpoint(checkpoint).state.config;
  let next = saved;
  if (opts.config) next = merge(next, readConfigFile(opts.config), `--config ${opts.config}`);
  // the run's folder is where its checkpoint is, unless --out says otherwise
  next = merge(next, { ...flagSettings(opts), out: opts.out ?? dirname(checkpoint) }, 'command line');
  try {
    assertResumable(saved, next, checkpoint);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const changed = configDifferences(saved, next);
  if (changed.length) say(`resume: changed from the checkpoint: ${changed.map((k) => `${k} ${JSON.stringify((saved as any)[k])} -> ${JSON.stringify((next as any)[k])}`).join(', ')}`);
  return next;
}

async function evalOnly(opts: Record<string, any>): Promise<number> {
  const reporter = terminalReporter();
  const ck = readCheckpoint(opts.evalOnly);
  const over: Record<string, unknown> = { dataset: opts.dataset, dataDir: opts.dataDir, backend: opts.backend, rerank: opts.rerank, threads: opts.threads, onCorrupt: opts.skipCorrupt ? 'skip' : undefined };
  if (opts.dataset && opts.dataset !== ck.state.config.dataset && !opts.dataDir) throw new UsageError(`--eval-only with --dataset ${opts.dataset} needs --data-dir (the checkpoint was trained on ${ck.state.config.dataset})`);
  // the pictures go to their own folder: the training run's are never overwritten
  over.out = opts.out ?? join(dirname(opts.evalOnly), `eval-${basename(opts.evalOnly).replace(/\.safetensors$/, '')}`);
  const config = merge(ck.state.config, over, 'command line');
  reporter.line(`backend: ${await selectBackend(config.backend)}`);
  const rng = new Rng(config.seed);
  const data = await loadReidData(config, reporter);
  const batcher = new ImageBatcher(data, config, rng);
  batcher.checkImages(data, reporter);
  const model = buildModel(config, rng, reporter);
  model.loadStateDict(ck.model, true);
  const evaluation = evaluateModel(model, batcher, data, config, reporter);
  printSummary(reporter, evaluation.result, `checkpoint ${opts.evalOnly} (epoch ${ck.state.epoch}) on ${config.dataset} (${config.dataDir})`);
  if (opts.pictures !== false) {
    // the default folder (eval-<name> beside the checkpoint) holds only this evaluation's output: replaced
    prepareRunFolder(config.out, config, { overwrite: opts.overwrite || opts.out === undefined });
    await writePictures(config, model, data, ck.state.history, ck.state.start, evaluation, batcher, reporter);
    reporter.line(`pictures: ${config.out}`);
  }
  return EXIT.ok;
}

async function main(): Promise<number> {
  program.parse();
  const opts = program.opts();
  if (opts.evalOnly && opts.resume) throw new UsageError('--eval-only and --resume exclude each other');
  if (opts.evalOnly) return evalOnly(opts);
  const reporter = terminalReporter();
  const resumePath = opts.resume === undefined ? undefined : typeof opts.resume === 'string' ? opts.resume : join(opts.out ?? PROFILES.cpu.out, 'last.safetensors');
  const config = resumePath ? resumeConfig(opts, resumePath, (l) => reporter.line(l)) : newRunConfig(opts);
  reporter.line(`backend: ${await selectBackend(config.backend)}`);
  reporter.line(`profile ${config.profile}, dataset ${config.dataset} (${config.dataDir}), arch ${config.arch} ${config.height}x${config.width}, ` +
    `MLA ${['pla', 'hla', 'dla'].filter((k) => (config.mla as any)[k]).join('+') || 'off (baseline)'} in ${config.mla.blocks} layer4 blocks, ` +
    `${config.epochs} epochs, batch ${config.P}x${config.K}, lr ${config.lr}, eps ${config.eps}, seed ${config.seed}, out ${config.out}`);
  const interrupt = onInterrupt((l) => reporter.line(l));
  const result = await runTraining(config, { reporter, resume: resumePath, overwrite: opts.overwrite, stopRequested: interrupt.requested });
  if (result.interrupted) return EXIT.interrupted;
  if (interrupt.requested()) {
    // Ctrl-C during the last epoch's evaluation: the run is complete and saved; only the pictures are skipped
    reporter.line(`interrupted after the last epoch: the run is complete in ${config.out}; the summary and pictures were skipped (npm run train -- --eval-only ${config.out}/last.safetensors makes them).`);
    return EXIT.interrupted;
  }
  if (result.final && !result.stoppedEarly) {
    printSummary(reporter, result.final.result, `${config.profile} profile, ${config.epochs} epochs`);
    if (opts.pictures !== false) await writePictures(config, result.model, result.data, result.history, result.start, result.final, result.batcher, reporter);
  }
  if (result.collapsed) {
    reporter.line(`collapsed: the last epoch found ${result.history.at(-1)?.clusters ?? 0} cluster(s), so nothing was learnt from it; the numbers above are not a trained model's. ` +
      'Try a larger --eps or another --seed (exit status 4).');
    return EXIT.collapsed;
  }
  return EXIT.ok;
}

if (!relaunchOutsideTsxWatchdog()) runMain(main);
