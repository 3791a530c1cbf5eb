/**
 * Multi-level attention (MLA): where and how the paper's three modules enter the ResNet.
 *
 * Paper section 3: "we modify the last ResBlock of the ordinary ResNet by using three attention
 * modules with different scales instead of the original convolutional layers". DESIGN.md settles
 * the placement (BoTNet's): in each layer4 bottleneck the 3×3 conv is replaced by
 *
 *   conv1 → BN → ReLU → PLA (eq. 3) → HLA (§3.1) → DLA (eqs. 4-6) → BN → ReLU → conv3 → BN → + shortcut → ReLU
 *
 * Each module is switchable, so every row of the ablation tables (baseline, HLA, PLA, PLA+HLA,
 * DLA, ALL) is one option set. Where HLA is off the 3×3 conv stays, with PLA before it and DLA
 * after it; its state-dict name stays `conv2` so pretrained weights still load into it.
 *
 * Stage names inside a bottleneck: `pla`, `hla` (or `conv2`), `dla`, e.g. `layer4.2.hla.rel_h`.
 * Shapes: every stage maps [N, width, H, W] to [N, width, H, W] (stride 1; see mlaStages).
 */
import { Conv2d } from '../layers.ts';
import type { InitContext } from '../module.ts';
import type { MiddleStage } from '../bottleneck.ts';
import { PLA } from './pla.ts';
import { HLA } from './hla.ts';
import { DLA } from './dla.ts';

export interface MLAOptions {
  pla: boolean;
  hla: boolean;
  dla: boolean;
  /** 'all': every layer4 bottleneck (default); 'last': only the final one. */
  blocks: 'all' | 'last';
  /** HLA heads (4). */
  heads: number;
  /** DLA storage units c_k (64). */
  ck: number;
  /** PLA conv C→C ('C', default) or C→1 ('1'). */
  plaChannels: 'C' | '1';
  /** HLA logit scale: 1/√d ('invsqrt', default) or 1. */
  hlaScale: 'invsqrt' | 1;
}

export const MLA_DEFAULTS: MLAOptions = { pla: false, hla: false, dla: false, blocks: 'all', heads: 4, ck: 64, plaChannels: 'C', hlaScale: 'invsqrt' };

/** Which of the three modules are on. */
export type ModuleSet = Readonly<Pick<MLAOptions, 'pla' | 'hla' | 'dla'>>;

/**
 * The paper's ablation rows (Tables 6 and 7: baseline, HLA, PLA, PLA+HLA, DLA, ALL), in the paper's
 * order, as module sets. The one definition: `npm run ablation` (reid/train/ablation.ts) runs these
 * rows and the backbone test builds each of them.
 */
export const ABLATION_ROWS = {
  baseline: { pla: false, hla: false, dla: false },
  HLA: { pla: false, hla: true, dla: false },
  PLA: { pla: true, hla: false, dla: false },
  'PLA+HLA': { pla: true, hla: true, dla: false },
  DLA: { pla: false, hla: false, dla: true },
  ALL: { pla: true, hla: true, dla: true },
} as const satisfies Record<string, ModuleSet>;

export type AblationRow = keyof typeof ABLATION_ROWS;

export const ABLATION_ROW_NAMES = Object.keys(ABLATION_ROWS) as AblationRow[];

export function anyMLA(o: MLAOptions): boolean {
  return o.pla || o.hla || o.dla;
}

/**
 * The middle stages of one bottleneck with MLA. `mapSize` is the [H, W] of the block's output
 * map (HLA's position encoding needs it). HLA cannot carry a stride (BoTNet would add a 2×2
 * average pool), so a strided block with HLA is refused: use last stride 1, as the paper does.
 */
export function mlaStages(opts: MLAOptions, width: number, stride: number, mapSize: [number, number], ctx: InitContext, where: string): [string, MiddleStage][] {
  const stages: [string, MiddleStage][] = [];
  // (3) PLA before the attention (or the kept 3×3 conv)
  if (opts.pla) stages.push(['pla', new PLA(width, ctx, { channels: opts.plaChannels })]);
  if (opts.hla) {
    if (stride !== 1) throw new Error(`${where}: HLA replaces a 3×3 conv with stride ${stride}; HLA needs stride 1 (set lastStride 1)`);
    // §3.1 HLA in place of the 3×3 conv
    stages.push(['hla', new HLA(width, mapSize[0], mapSize[1], ctx, { heads: opts.heads, scale: opts.hlaScale })]);
  } else {
    stages.push(['conv2', new Conv2d(width, width, 3, ctx, { stride, padding: 1, bias: false })]);
  }
  // (4)-(6) DLA after it
  if (opts.dla) stages.push(['dla', new DLA(width, ctx, { ck: opts.ck })]);
  return stages;
}
