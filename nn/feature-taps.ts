/**
 * Feature taps: a way to grab a named module's output (and, after backward, its gradient) without
 * changing any forward signature. Grad-CAM (nn/gradcam.ts) and the visualisations use it.
 *
 *   nameModules(model)            records every submodule's dotted state-dict path ('layer4.2.hla')
 *   withTaps(['layer4.2.hla'], f) runs f; each tapped module's output tensor is kept in the map
 *   tap(module, y)                called by forward passes at the points that can be tapped
 *
 * A tapped tensor lives on the tape like any other, so after `backward` its `.grad` holds
 * d(score)/d(feature map) -- exactly what Grad-CAM needs.
 */
import type { Tensor } from '../core/tensor.ts';
import type { Module } from './module.ts';

const paths = new WeakMap<Module, string>();
let active: Map<string, Tensor> | null = null;
let wanted: Set<string> | null = null;

/** Give every submodule of `root` its dotted path (the prefix of its state-dict keys). */
export function nameModules(root: Module, prefix = ''): void {
  for (const [name, m] of root.namedChildren()) {
    const path = prefix ? `${prefix}.${name}` : name;
    paths.set(m, path);
    nameModules(m, path);
  }
}

/** Every tappable path under `root` (all named submodules). */
export function modulePaths(root: Module, prefix = ''): string[] {
  const out: string[] = [];
  for (const [name, m] of root.namedChildren()) {
    const path = prefix ? `${prefix}.${name}` : name;
    out.push(path, ...modulePaths(m, path));
  }
  return out;
}

/** Called by forward passes: keeps `y` when `module`'s path is being tapped. Returns y. */
export function tap<T extends Tensor<any>>(module: Module, y: T): T {
  if (active) {
    const p = paths.get(module);
    if (p !== undefined && wanted!.has(p)) active.set(p, y);
  }
  return y;
}

/** Run `fn` with the given module paths tapped; returns fn's result and the captured outputs. */
export function withTaps<R>(names: readonly string[], fn: () => R): { result: R; maps: Map<string, Tensor> } {
  const prevActive = active;
  const prevWanted = wanted;
  active = new Map();
  wanted = new Set(names);
  try {
    const result = fn();
    const maps = active;
    for (const n of names) if (!maps.has(n)) throw new Error(`feature taps: no module output was captured for '${n}' (is the path right and does that module run?)`);
    return { result, maps };
  } finally {
    active = prevActive;
    wanted = prevWanted;
  }
}
