/**
 * The conformance op registry: one entry per op of `../shared/conformance/README.md`.
 * Each op file in `ops/` calls `registerOp` for the ops it implements; the runner and the tests
 * load every file in `ops/` (see `loadOps`), so adding an op never touches a shared list.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** A case tensor as float64 values (I64 tensors arrive as exact integers). */
export interface Arr {
  data: Float64Array;
  shape: number[];
}

export interface OpArgs {
  /** Inputs by name, in the case's order (Object key order). */
  inputs: Record<string, Arr>;
  attrs: Record<string, any>;
  /** For each differentiable output, the tensor g: expected grads are d(sum(output * g))/d(input). */
  upstream: Record<string, Arr>;
  /** Input names whose gradients the case checks. */
  gradsWanted: string[];
}

export interface OpResult {
  outputs: Record<string, Arr | Float64Array | number[] | number>;
  grads?: Record<string, Arr | Float64Array | number[]>;
}

/** Optional op-specific comparison; returns the error figure (<= 1e-4 passes) and a note. */
export type Compare = (name: string, got: Float64Array, want: Float64Array, args: OpArgs) => { error: number; note?: string };

export interface OpDef {
  run: (args: OpArgs) => OpResult;
  compare?: Compare;
}

const registry = new Map<string, OpDef>();

export function registerOp(name: string, def: OpDef): void {
  if (registry.has(name)) throw new Error(`conformance op '${name}' registered twice`);
  registry.set(name, def);
}

export function getOp(name: string): OpDef | undefined {
  return registry.get(name);
}

let loaded: Promise<void> | undefined;

/** Import every op file in ./ops once. */
export function loadOps(): Promise<void> {
  loaded ??= (async () => {
    const dir = join(dirname(fileURLToPath(import.meta.url)), 'ops');
    for (const f of readdirSync(dir).sort()) {
      if (f.endsWith('.ts') && !f.endsWith('.test.ts')) await import(pathToFileURL(join(dir, f)).href);
    }
  })();
  return loaded;
}
