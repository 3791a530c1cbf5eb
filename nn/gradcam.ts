/**
 * Grad-CAM (Selvaraju et al. 2017), as the paper's Figure 5 uses it to show where the features of
 * each module look. For a feature map A [C, h, w] of a chosen layer or attention module and a
 * scalar score s of the image's embedding:
 *
 *   α_c   = (1 / hw) Σ_p ∂s/∂A[c, p]                 (channel weights: the pooled gradient)
 *   cam_p = ReLU( Σ_c α_c A[c, p] )                  (the class-activation map)
 *   heat  = (cam − min cam) / (max cam − min cam)    (normalised to [0, 1]; all zeros if flat)
 *
 * The score. Re-ID has no classes, so the score is a property of the embedding (documented choice):
 *   - default: s = ‖f‖₂ with f the BatchNorm-neck feature before the final L2 normalisation
 *     (the normalised embedding has norm 1, so its own norm has no gradient). ∂s/∂f = f / ‖f‖: the
 *     map shows what makes the feature *strong* in its own direction.
 *   - `target` given (e.g. another image's embedding or a cluster centroid of the memory):
 *     s = ⟨embedding, target⟩, the similarity the ClusterNCE loss (eq. 1) scores; the map shows
 *     what makes this image match the target.
 * Layers are module paths of the backbone: 'layer3', 'layer4', 'layer4.2', 'layer4.2.pla',
 * 'layer4.2.hla', 'layer4.2.conv2', 'layer4.2.dla', 'conv1' (see nn/feature-taps.ts).
 */
import { Tensor, ShapeError } from '../core/tensor.ts';
import { backward, clearTape, isRecording } from '../core/autograd.ts';
import { withTaps, modulePaths } from './feature-taps.ts';
import type { ReIDBackbone } from './backbone.ts';

export interface GradCamOptions {
  /** Module path whose output is explained, e.g. 'layer4.2.dla'. */
  layer: string;
  /** Reference embedding [D]: score = ⟨embedding, target⟩. Default: score = ‖neck feature‖₂. */
  target?: ArrayLike<number>;
}

export interface GradCamResult {
  /** h × w heat map, row-major, in [0, 1]. */
  heat: Float32Array;
  h: number;
  w: number;
  /** The score whose gradient was taken. */
  score: number;
}

/**
 * Heat map of one image ([3, H, W] or [1, 3, H, W]) at `opts.layer`. Runs the model in eval mode
 * (restoring its mode after) with the tape on; the parameters' .grad are cleared afterwards, so call
 * it between training steps, not inside one.
 */
export function gradCam(model: ReIDBackbone, image: Tensor, opts: GradCamOptions): GradCamResult {
  if (!isRecording()) throw new Error('gradCam: needs the autograd tape; do not call it inside noGrad()');
  const x = image.rank === 3 ? new Tensor(image.data, [1, ...image.shape]) : image;
  if (x.rank !== 4 || x.shape[0] !== 1) throw new ShapeError(`gradCam: image has shape [${image.shape}], expected [3,H,W] or [1,3,H,W]`);
  if (!modulePaths(model).includes(opts.layer)) {
    throw new Error(`gradCam: the backbone has no module '${opts.layer}' (e.g. layer4, layer4.2, layer4.2.hla)`);
  }
  const wasTraining = model.training;
  model.eval();
  try {
    const { result, maps } = withTaps([opts.layer], () => model.features(x as Tensor<['N', 'C', 'H', 'W']>));
    const A = maps.get(opts.layer)!;
    let score: number;
    if (opts.target) {
      const e = result.embedding.data;
      if (opts.target.length !== e.length) throw new ShapeError(`gradCam: target has ${opts.target.length} values, the embedding ${e.length}`);
      // s = ⟨embedding, target⟩  ⇒  ∂s/∂embedding = target
      const seed = new Float64Array(e.length);
      score = 0;
      for (let i = 0; i < e.length; i++) { seed[i] = opts.target[i]; score += e[i] * opts.target[i]; }
      backward(result.embedding, seed as unknown as typeof e);
    } else {
      const f = result.neck.data;
      let norm = 0;
      for (let i = 0; i < f.length; i++) norm += f[i] * f[i];
      norm = Math.sqrt(norm);
      // s = ‖f‖₂  ⇒  ∂s/∂f = f / ‖f‖
      const seed = f.map((v) => (norm > 0 ? v / norm : 0));
      score = norm;
      backward(result.neck, seed);
    }
    if (!A.grad) throw new Error(`gradCam: '${opts.layer}' received no gradient (does the score depend on it?)`);
    const heat = camFromActivation(A.data, A.grad, A.shape[1], A.shape[2], A.shape[3]);
    return { heat, h: A.shape[2], w: A.shape[3], score };
  } finally {
    clearTape();
    model.zeroGrad();
    model.train(wasTraining);
  }
}

/** Grad-CAM from a feature map A and its gradient G, both [C, h, w] (batch 1). */
export function camFromActivation(A: ArrayLike<number>, G: ArrayLike<number>, C: number, h: number, w: number): Float32Array {
  const P = h * w;
  const cam = new Float32Array(P);
  for (let c = 0; c < C; c++) {
    // α_c = mean_p ∂s/∂A[c, p]
    let alpha = 0;
    for (let p = 0; p < P; p++) alpha += G[c * P + p];
    alpha /= P;
    // Σ_c α_c A[c, p]
    for (let p = 0; p < P; p++) cam[p] += alpha * A[c * P + p];
  }
  // ReLU, then min-max to [0, 1]
  let lo = Infinity, hi = -Infinity;
  for (let p = 0; p < P; p++) {
    cam[p] = Math.max(cam[p], 0);
    lo = Math.min(lo, cam[p]);
    hi = Math.max(hi, cam[p]);
  }
  for (let p = 0; p < P; p++) cam[p] = hi > lo ? (cam[p] - lo) / (hi - lo) : 0;
  return cam;
}

/**
 * Pearson correlation of two heat maps of equal size: cov(a, b) / (σ_a σ_b) over their pixels.
 * NaN when either map is flat (zero variance). Used to say when a module's Grad-CAM map cannot be
 * told apart from layer4's (reid/train/heatmaps.ts: r > SAME_MAP_CORRELATION on every image).
 */
export function mapCorrelation(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length || a.length === 0) throw new ShapeError(`mapCorrelation: maps of ${a.length} and ${b.length} values (need equal, non-empty)`);
  const n = a.length;
  let ma = 0, mb = 0;
  for (let i = 0; i < n; i++) { ma += a[i]; mb += b[i]; }
  ma /= n; mb /= n;
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i] - ma, db = b[i] - mb;
    sab += da * db; saa += da * da; sbb += db * db;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : NaN;
}

/** Above this correlation with layer4's map, on every image shown, a module's map counts as indistinguishable from layer4's. */
export const SAME_MAP_CORRELATION = 0.99;
