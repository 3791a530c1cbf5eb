/**
 * Checkpoints: one safetensors file holding the model's state dict (`model.<torchvision name>`),
 * Adam's moments (`optim.exp_avg.<name>`, `optim.exp_avg_sq.<name>`), and in its metadata the
 * epoch, the config, the RNG state, Adam's step counts, the metrics history, and a checksum of the
 * data section and the metadata, so a corrupted or edited file is refused instead of silently loading
 * wrong numbers. Written atomically (temporary file, fsync, rename): a crash never leaves half a
 * checkpoint; a model with a non-finite value is never written (saveCheckpoint refuses it).
 */
import { existsSync, readFileSync } from 'node:fs';
import { encodeSafetensors, parseSafetensors, readSafetensorsHeader, writeFileAtomic, type StTensor } from '../../core/safetensors.ts';
import type { Tensor } from '../../core/tensor.ts';
import type { Module, StateValue } from '../../nn/module.ts';
import type { Adam } from '../../nn/optim.ts';
import type { Rng } from '../../core/random.ts';
import { validateConfig, type TrainConfig } from './config.ts';

/** Config keys newer than some checkpoints, with the behaviour those checkpoints were trained with. */
const SETTINGS_ADDED_LATER: Partial<TrainConfig> = { sameCameraPenalty: 0, onCorrupt: 'stop' };

export interface EpochMetrics {
  epoch: number;
  clusters: number;
  outliers: number;
  loss: number;
  lr: number;
  seconds: number;
  mAP?: number;
  rank1?: number;
  rank5?: number;
  rank10?: number;
  /** Seconds spent in each phase of the epoch. */
  phases?: { extract: number; cluster: number; train: number; eval: number };
}

/** The evaluation of the network before its first epoch (pretrained or freshly initialised). */
export interface StartMetrics {
  epoch: 0;
  mAP: number;
  rank1: number;
  rank5: number;
  rank10: number;
  seconds: number;
}

export interface TrainingState {
  /** Epochs completed. */
  epoch: number;
  config: TrainConfig;
  rng: number[];
  history: EpochMetrics[];
  /** Null when the config skips it (`evalAtStart: false`). */
  start: StartMetrics | null;
  bestMAP: number;
}

/** Format 2: the checksum covers the metadata too. Format 1 (data only) is still read. */
const FORMAT = 'mla-reid-checkpoint-2';
const FORMAT_1 = 'mla-reid-checkpoint-1';

/** FNV-1a over 32-bit words (plus the tail bytes): cheap, and any flipped byte changes it. */
function checksum(bytes: Uint8Array): string {
  let h = 0x811c9dc5;
  const words = Math.floor(bytes.length / 4);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < words; i++) h = Math.imul(h ^ view.getUint32(i * 4, true), 0x01000193) >>> 0;
  for (let i = words * 4; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

function asSt(t: Tensor | { data: Float32Array | Float64Array; shape: number[] }): StTensor {
  const f32 = t.data instanceof Float32Array ? t.data : Float32Array.from(t.data);
  return { dtype: 'F32', shape: [...t.shape], data: f32 };
}

/** The first non-finite value among the model's tensors, or null: a model with one is never saved. */
export function firstNonFinite(model: Module): { name: string; index: number; value: number; count: number } | null {
  for (const [name, t] of model.stateDict()) {
    const d = t.data;
    for (let i = 0; i < d.length; i++) {
      if (!Number.isFinite(d[i])) {
        let count = 0;
        for (const [, u] of model.stateDict()) for (let j = 0; j < u.data.length; j++) if (!Number.isFinite(u.data[j])) count++;
        return { name, index: i, value: d[i], count };
      }
    }
  }
  return null;
}

/** Metadata and data checksummed together: an edited epoch or config is refused like a flipped weight. */
function checksumOf(meta: Record<string, string>, data: Uint8Array): string {
  const keys = Object.keys(meta).filter((k) => k !== 'checksum').sort();
  const text = new TextEncoder().encode(JSON.stringify(keys.map((k) => [k, meta[k]])));
  return `${checksum(text)}${checksum(data)}`;
}

export function saveCheckpoint(path: string, model: Module, optimizer: Adam, rng: Rng, state: Omit<TrainingState, 'rng'>): void {
  const bad = firstNonFinite(model);
  if (bad) throw new CheckpointError(path, `not written: the model holds ${bad.count} non-finite values (first: '${bad.name}'[${bad.index}] = ${bad.value})`);
  const tensors: [string, StTensor][] = [];
  for (const [name, t] of model.stateDict()) tensors.push([`model.${name}`, asSt(t)]);
  const names = optimizerNames(optimizer, model);
  optimizer.params.forEach((p, i) => {
    tensors.push([`optim.exp_avg.${names[i]}`, { dtype: 'F64', shape: [...p.shape], data: Float64Array.from(optimizer.expAvg[i].read()) }]);
    tensors.push([`optim.exp_avg_sq.${names[i]}`, { dtype: 'F64', shape: [...p.shape], data: Float64Array.from(optimizer.expAvgSq[i].read()) }]);
  });
  const body = encodeSafetensors(tensors, {});
  const meta: Record<string, string> = {
    format: FORMAT,
    epoch: String(state.epoch),
    config: JSON.stringify(state.config),
    rng: JSON.stringify(rng.state()),
    optim_step: JSON.stringify(optimizer.step),
    optim_lr: String(optimizer.lr),
    history: JSON.stringify(state.history),
    start: JSON.stringify(state.start),
    best_map: String(state.bestMAP),
  };
  meta.checksum = checksumOf(meta, dataSection(body));
  writeFileAtomic(path, encodeSafetensors(tensors, meta));
}

/** The state-dict names of the optimizer's parameters, in its order. */
function optimizerNames(optimizer: Adam, model: Module): string[] {
  const nameOf = new Map(model.namedParameters().map(([n, t]) => [t, n]));
  return optimizer.params.map((p) => nameOf.get(p) ?? '?');
}

function dataSection(bytes: Uint8Array, file = '<checkpoint>'): Uint8Array {
  return bytes.subarray(readSafetensorsHeader(bytes, file).dataStart);
}

export interface LoadedCheckpoint {
  state: TrainingState;
  model: Map<string, StateValue>;
  optim: { step: number[]; lr: number; expAvg: Map<string, Float64Array>; expAvgSq: Map<string, Float64Array> };
}

export class CheckpointError extends Error {
  constructor(path: string, message: string) {
    super(`checkpoint ${path}: ${message}`);
    this.name = 'CheckpointError';
  }
}

export function readCheckpoint(path: string): LoadedCheckpoint {
  if (!existsSync(path)) throw new CheckpointError(path, 'file not found (train first, or give the path of a run\'s last.safetensors / best.safetensors)');
  const bytes = readFileSync(path);
  let file;
  try {
    file = parseSafetensors(bytes, path);
  } catch (e) {
    throw new CheckpointError(path, `not a readable checkpoint (${(e as Error).message}); it is corrupt or truncated`);
  }
  const m = file.metadata;
  if (m.format !== FORMAT && m.format !== FORMAT_1) throw new CheckpointError(path, `not a checkpoint of this project (format '${m.format ?? 'none'}', expected '${FORMAT}')`);
  const data = dataSection(bytes, path);
  if ((m.format === FORMAT ? checksumOf(m, data) : checksum(data)) !== m.checksum) {
    throw new CheckpointError(path, `checksum mismatch: the ${m.format === FORMAT ? 'tensor data or metadata' : 'tensor data'} is corrupt; use an earlier checkpoint or retrain`);
  }
  let state: TrainingState;
  let optimStep: number[];
  try {
    // settings added after a checkpoint was written take the value that reproduces its run
    const config = { ...SETTINGS_ADDED_LATER, ...JSON.parse(m.config) } as TrainConfig;
    validateConfig(config, `checkpoint ${path}: config`);
    state = {
      epoch: Number(m.epoch),
      config,
      rng: JSON.parse(m.rng),
      history: JSON.parse(m.history),
      start: m.start ? JSON.parse(m.start) : null,
      bestMAP: Number(m.best_map),
    };
    optimStep = JSON.parse(m.optim_step);
  } catch (e) {
    throw new CheckpointError(path, `unreadable metadata (${(e as Error).message})`);
  }
  if (!Number.isInteger(state.epoch) || state.epoch < 0 || !Array.isArray(state.history) || state.history.length !== state.epoch) {
    throw new CheckpointError(path, `inconsistent metadata: epoch ${m.epoch} with ${Array.isArray(state.history) ? state.history.length : 'no'} epochs of history`);
  }
  const model = new Map<string, StateValue>();
  const expAvg = new Map<string, Float64Array>();
  const expAvgSq = new Map<string, Float64Array>();
  for (const [name, t] of file.tensors) {
    const data = t.data as Float32Array | Float64Array;
    if (name.startsWith('model.')) model.set(name.slice(6), { data, shape: t.shape });
    else if (name.startsWith('optim.exp_avg_sq.')) expAvgSq.set(name.slice(17), Float64Array.from(data));
    else if (name.startsWith('optim.exp_avg.')) expAvg.set(name.slice(14), Float64Array.from(data));
  }
  return { state, model, optim: { step: optimStep, lr: Number(m.optim_lr), expAvg, expAvgSq } };
}

/** Put a checkpoint's optimizer state into `optimizer` (parameters matched by name). */
export function restoreOptimizer(optimizer: Adam, model: Module, saved: LoadedCheckpoint['optim'], path: string): void {
  const names = optimizerNames(optimizer, model);
  if (saved.step.length !== names.length) {
    throw new CheckpointError(path, `optimizer state has ${saved.step.length} parameters, the model has ${names.length} (different architecture or MLA flags?)`);
  }
  names.forEach((n, i) => {
    const m = saved.expAvg.get(n);
    const v = saved.expAvgSq.get(n);
    if (!m || !v || m.length !== optimizer.expAvg[i].length) throw new CheckpointError(path, `optimizer state for '${n}' is missing or has the wrong size`);
    optimizer.expAvg[i].overwrite().set(m);
    optimizer.expAvgSq[i].overwrite().set(v);
    optimizer.step[i] = saved.step[i];
  });
  optimizer.lr = saved.lr;
}
