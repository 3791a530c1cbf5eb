/**
 * `Module`: the base of every layer. Parameters and buffers are registered by name, so a model's
 * state dict carries torchvision's names (`layer4.2.bn3.running_var`) and real pretrained weights
 * load by key. Order follows PyTorch's `state_dict()`: a module's own parameters, then its own
 * buffers, then its children in registration order.
 */
import { Tensor, ShapeError, type DType } from '../core/tensor.ts';
import { Rng } from '../core/random.ts';

/** What a layer needs to create its tensors: the storage type and the seeded generator. */
export interface InitContext {
  dtype: DType;
  rng: Rng;
}

export function defaultInit(seed = 0, dtype: DType = 'float32'): InitContext {
  return { dtype, rng: new Rng(seed) };
}

/** A tensor-like value to load: any storage plus its shape. */
export interface StateValue {
  data: ArrayLike<number>;
  shape: readonly number[];
}

export interface LoadReport {
  missing: string[];
  unexpected: string[];
}

export abstract class Module {
  training = true;
  private readonly params = new Map<string, Tensor>();
  private readonly buffers = new Map<string, Tensor>();
  private readonly children = new Map<string, Module>();

  protected param(name: string, t: Tensor): Tensor {
    t.requiresGrad = true;
    this.params.set(name, t);
    return t;
  }

  protected buffer(name: string, t: Tensor): Tensor {
    this.buffers.set(name, t);
    return t;
  }

  protected child<M extends Module>(name: string, m: M): M {
    this.children.set(name, m);
    return m;
  }

  namedChildren(): [string, Module][] {
    return [...this.children];
  }

  /** Every trainable tensor with its dotted name. */
  namedParameters(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [...this.params].map(([n, t]) => [prefix + n, t]);
    for (const [n, m] of this.children) out.push(...m.namedParameters(`${prefix}${n}.`));
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  /** Parameters and buffers, in PyTorch's state_dict order. */
  stateDict(prefix = ''): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const [n, t] of this.params) out.set(prefix + n, t);
    for (const [n, t] of this.buffers) out.set(prefix + n, t);
    for (const [n, m] of this.children) for (const [k, t] of m.stateDict(`${prefix}${n}.`)) out.set(k, t);
    return out;
  }

  /**
   * Copy values in by name. A shape mismatch is an error naming the key; missing and unexpected
   * keys are reported, and are errors too when `strict`.
   */
  loadStateDict(values: Map<string, StateValue>, strict = true): LoadReport {
    const own = this.stateDict();
    const missing = [...own.keys()].filter((k) => !values.has(k));
    const unexpected = [...values.keys()].filter((k) => !own.has(k));
    // Validate everything before copying anything, so a rejected load leaves the model unchanged.
    for (const [k, t] of own) {
      const v = values.get(k);
      if (!v) continue;
      const same = v.shape.length === t.shape.length && v.shape.every((d, i) => d === t.shape[i]);
      if (!same) throw new ShapeError(`loadStateDict: '${k}' has shape [${v.shape}] in the source, the model expects [${t.shape}]`);
    }
    if (strict && (missing.length || unexpected.length)) {
      throw new Error(`loadStateDict: ${missing.length} missing keys (${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''}), ` +
        `${unexpected.length} unexpected keys (${unexpected.slice(0, 5).join(', ')}${unexpected.length > 5 ? ', ...' : ''})`);
    }
    for (const [k, t] of own) {
      const v = values.get(k);
      if (v) t.data.set(v.data);
    }
    return { missing, unexpected };
  }

  train(mode = true): this {
    this.training = mode;
    for (const m of this.children.values()) m.train(mode);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }
}
