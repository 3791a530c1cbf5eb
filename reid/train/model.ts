/** The model a config asks for: ResNet-50 (or its CPU-sized variant) with MLA in layer4, float32. */
import type { Rng } from '../../core/random.ts';
import { ShapeError } from '../../core/tensor.ts';
import { RESNET50, RESNET_CPU, RESNET_CPU_TINY, ReIDBackbone, backboneOptions } from '../../nn/backbone.ts';
import { formatReport, loadPretrained } from '../../nn/weights.ts';
import type { TrainConfig } from './config.ts';
import type { Reporter } from './progress.ts';

export type ReidModel = ReIDBackbone;

export function buildModel(c: TrainConfig, rng: Rng, reporter: Reporter): ReidModel {
  const base = { resnet50: RESNET50, small: RESNET_CPU, tiny: RESNET_CPU_TINY }[c.arch];
  if (!base) throw new Error(`arch '${c.arch}' is not resnet50, small or tiny`);
  const opts = backboneOptions(base, {
    inputSize: [c.height, c.width],
    pooling: c.pooling,
    mla: { pla: c.mla.pla, hla: c.mla.hla, dla: c.mla.dla, blocks: c.mla.blocks },
  });
  const model = new ReIDBackbone(opts, { dtype: 'float32', rng });
  const count = model.parameters().reduce((s, p) => s + p.size, 0);
  reporter.line(`model: ${c.arch} (depths ${opts.depths.join(',')}, width ${opts.baseWidth}), ${(count / 1e6).toFixed(2)} M parameters, feature dim ${model.featureDim}`);
  if (c.pretrained) {
    let report;
    try {
      report = loadPretrained(model, c.pretrained);
    } catch (e) {
      // the cpu profile's network is a narrow ResNet: real ResNet-50 weights need the full width
      if (e instanceof ShapeError && c.arch !== 'resnet50') throw new ShapeError(`${e.message}. This run's arch is '${c.arch}'; ResNet-50 weights need --arch resnet50 (or --profile paper)`);
      throw e;
    }
    if (report.loaded.length === 0) throw new Error(`--pretrained ${c.pretrained}: no key of the file matches the model (is it a torchvision ResNet-50 state dict?)`);
    reporter.line(formatReport(report));
  }
  return model;
}
