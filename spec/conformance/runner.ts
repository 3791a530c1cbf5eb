/**
 * Runs conformance cases: loads a case file, calls the op, compares every output and gradient
 * with `max|got - want| / max(max|want|, 1e-6) <= 1e-4` (or the op's own rule).
 */
import { readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { readSafetensors, toFloat64 } from '../../core/safetensors.ts';
import { type Arr, type OpArgs, getOp, loadOps } from './registry.ts';

export const TOLERANCE = 1e-4;

export interface CaseSpec {
  op: string;
  attrs: Record<string, any>;
  inputs: string[];
  outputs: string[];
  upstream?: Record<string, string>;
  grads?: Record<string, string>;
}

export interface CaseRow {
  file: string;
  op: string;
  shapes: string;
  /** Worst relative error of each output and gradient, by name. */
  errors: Record<string, number>;
  passed: boolean;
  reason?: string;
}

export interface LoadedCase {
  spec: CaseSpec;
  tensors: Map<string, Arr>;
}

export function loadCase(file: string): LoadedCase {
  const { tensors, metadata } = readSafetensors(file);
  if (!metadata.case) throw new Error(`${file}: no 'case' entry in __metadata__`);
  const spec = JSON.parse(metadata.case) as CaseSpec;
  const arrs = new Map<string, Arr>();
  for (const [name, t] of tensors) arrs.set(name, { data: toFloat64(t), shape: t.shape });
  const need = [...spec.inputs, ...spec.outputs, ...Object.values(spec.upstream ?? {}), ...Object.values(spec.grads ?? {})];
  for (const n of need) if (!arrs.has(n)) throw new Error(`${file}: case names tensor '${n}' but the file has no such tensor`);
  return { spec, tensors: arrs };
}

/** Every .safetensors file under the given files and folders, sorted. */
export function collectCaseFiles(paths: string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    if (statSync(p).isDirectory()) {
      for (const f of readdirSync(p).sort()) out.push(...collectCaseFiles([join(p, f)]));
    } else if (p.endsWith('.safetensors')) out.push(p);
  }
  return out;
}

export function relativeError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  if (got.length !== want.length) return Infinity;
  let maxDiff = 0;
  let maxWant = 0;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    if (!(d <= maxDiff)) maxDiff = Number.isNaN(d) ? Infinity : d;
    maxWant = Math.max(maxWant, Math.abs(want[i]));
  }
  return maxDiff / Math.max(maxWant, 1e-6);
}

function asValues(v: Arr | Float64Array | number[] | number): Float64Array {
  if (typeof v === 'number') return Float64Array.of(v);
  if (v instanceof Float64Array) return v;
  if (Array.isArray(v)) return Float64Array.from(v);
  return Float64Array.from(v.data);
}

export async function runCase(file: string): Promise<CaseRow> {
  await loadOps();
  const { spec, tensors } = loadCase(file);
  const shapes = spec.inputs.map((n) => `${n}[${tensors.get(n)!.shape.join(',')}]`).join(' ');
  const row: CaseRow = { file: basename(file), op: spec.op, shapes, errors: {}, passed: false };
  const def = getOp(spec.op);
  if (!def) return { ...row, reason: 'op not implemented' };
  const args: OpArgs = {
    inputs: Object.fromEntries(spec.inputs.map((n) => [n, tensors.get(n)!])),
    attrs: spec.attrs ?? {},
    upstream: Object.fromEntries(Object.entries(spec.upstream ?? {}).map(([o, g]) => [o, tensors.get(g)!])),
    gradsWanted: Object.keys(spec.grads ?? {}),
  };
  let result;
  try {
    result = def.run(args);
  } catch (e) {
    return { ...row, reason: `error: ${(e as Error).message}` };
  }
  const checks: [string, unknown, Arr][] = [
    ...spec.outputs.map((o): [string, unknown, Arr] => [o, result.outputs[o], tensors.get(o)!]),
    ...Object.entries(spec.grads ?? {}).map(([inp, g]): [string, unknown, Arr] => [`d${inp}`, result.grads?.[inp], tensors.get(g)!]),
  ];
  const notes: string[] = [];
  for (const [name, got, want] of checks) {
    if (got === undefined) {
      row.errors[name] = Infinity;
      notes.push(`${name} missing`);
      continue;
    }
    const values = asValues(got as Arr);
    const cmp = def.compare ? def.compare(name, values, want.data, args) : { error: relativeError(values, want.data) };
    row.errors[name] = cmp.error;
    if (cmp.note) notes.push(cmp.note);
  }
  row.passed = Object.values(row.errors).every((e) => e <= TOLERANCE);
  if (notes.length) row.reason = notes.join('; ');
  return row;
}

export function formatRow(r: CaseRow): string {
  const errs = Object.entries(r.errors).map(([k, v]) => `${k}=${v.toExponential(1)}`).join(' ');
  return [r.passed ? 'PASS' : 'FAIL', r.op.padEnd(17), r.file.padEnd(44), r.shapes, errs, r.reason ?? ''].join('  ').trimEnd();
}
