/**
 * Reverse-mode autograd: a tape of backward closures.
 *
 * Every primitive (core/ops/*.ts) computes its forward result and, when any input requires a
 * gradient and recording is on, pushes one closure that reads the output's gradient and adds the
 * inputs' gradients (the vector-Jacobian product). `backward(loss)` seeds d(loss)/d(loss), runs the
 * tape in reverse, and releases it: nothing of the tape survives backward, so the activations it
 * held are freed with it. Parameters keep their accumulated `.grad` until the optimizer zeroes it.
 */
import type { Tensor, Storage } from './tensor.ts';
import type { TensorStorage } from './tensor-storage.ts';

type Backward = () => void;

let tape: Backward[] = [];
let recording = true;

/** True when `out` must be connected to the tape. */
export function needsGrad(...inputs: (Tensor<any> | null | undefined)[]): boolean {
  return recording && inputs.some((t) => t?.requiresGrad);
}

/**
 * Register a primitive's result: marks `out` as requiring a gradient and records `backward`,
 * which is called with the output's gradient once the tape reaches it (its storage: kernels take it
 * where it lives, `dy.read()` brings it to the host).
 */
export function record<T extends Tensor<any>>(out: T, inputs: (Tensor<any> | null | undefined)[], backward: (dy: TensorStorage) => void): T {
  if (!needsGrad(...inputs)) return out;
  out.requiresGrad = true;
  tape.push(() => {
    if (out.gradStorage) backward(out.gradStorage);
  });
  return out;
}

/** Run `fn` without recording (evaluation, feature extraction, memory updates). */
export function noGrad<T>(fn: () => T): T {
  const was = recording;
  recording = false;
  try {
    return fn();
  } finally {
    recording = was;
  }
}

export function isRecording(): boolean {
  return recording;
}

/** Number of closures on the tape (for tests that check it is released). */
export function tapeLength(): number {
  return tape.length;
}

/**
 * Back-propagate from `root`. `seed` is d(loss)/d(root); it defaults to ones (a scalar loss).
 * The tape is released afterwards, also when a backward closure throws.
 */
export function backward(root: Tensor<any>, seed?: Storage): void {
  const g = root.gradBuffer();
  if (seed) {
    if (seed.length !== g.length) throw new Error(`backward: seed has ${seed.length} values, ${root} has ${g.length}`);
    for (let i = 0; i < g.length; i++) g[i] += seed[i];
  } else g.fill(1);
  const steps = tape;
  tape = [];
  try {
    for (let i = steps.length - 1; i >= 0; i--) steps[i]();
  } finally {
    steps.length = 0;
  }
}

/** Drop whatever was recorded (e.g. after a forward pass whose backward is not wanted). */
export function clearTape(): void {
  tape = [];
}
