/**
 * core/safetensors.ts: F32/F64/I64 round trips (property, through a real file written atomically),
 * and clear errors naming the file and the tensor for a truncated file, a corrupt JSON header,
 * an unsupported dtype, a shape that does not match its byte range, offsets past the end.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeSafetensors, parseSafetensors, readSafetensors, writeSafetensors, toFloat64, type StTensor } from '../core/safetensors.ts';

const dir = mkdtempSync(join(tmpdir(), 'st-spec-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

const tensorArb: fc.Arbitrary<StTensor> = fc.record({
  dtype: fc.constantFrom<'F32' | 'F64' | 'I64'>('F32', 'F64', 'I64'),
  shape: fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 0, maxLength: 3 }),
  seed: fc.array(fc.double({ noNaN: true, min: -1e30, max: 1e30 }), { minLength: 64, maxLength: 64 }),
  ints: fc.array(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), { minLength: 64, maxLength: 64 }),
}).map(({ dtype, shape, seed, ints }) => {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = dtype === 'F32' ? Float32Array.from(seed.slice(0, n)) : dtype === 'F64' ? Float64Array.from(seed.slice(0, n)) : BigInt64Array.from(ints.slice(0, n));
  return { dtype, shape, data };
});

/** A hand-built file: header object and data bytes. */
function fileWith(header: unknown, data: Uint8Array, headerText = JSON.stringify(header)): Uint8Array {
  const json = new TextEncoder().encode(headerText);
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

describe('safetensors round trip', () => {
  it('F32, F64, I64 tensors of any shape (incl. scalars and empty) and metadata survive write + read', () => {
    let k = 0;
    fc.assert(fc.property(fc.array(tensorArb, { minLength: 1, maxLength: 4 }), fc.dictionary(fc.stringMatching(/^[a-z_]{1,6}$/), fc.string({ maxLength: 8 })),
      (tensors, metadata) => {
        const named = tensors.map((t, i) => [`t${i}.weight`, t] as [string, StTensor]);
        const path = join(dir, `rt${k++}.safetensors`);
        writeSafetensors(path, named, metadata);
        const back = readSafetensors(path);
        expect([...back.tensors.keys()].sort()).toEqual(named.map(([n]) => n).sort());
        for (const [name, t] of named) {
          const got = back.tensors.get(name)!;
          expect(got.dtype).toBe(t.dtype);
          expect(got.shape).toEqual(t.shape);
          expect(Array.from(got.data as ArrayLike<number | bigint>)).toEqual(Array.from(t.data as ArrayLike<number | bigint>));
        }
        expect(back.metadata).toEqual(Object.keys(metadata).length ? metadata : {});
      }), { numRuns: 40 });
    // atomic write leaves no temporary file behind
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('toFloat64 converts I64 and F32 values exactly', () => {
    expect(Array.from(toFloat64({ dtype: 'I64', shape: [3], data: BigInt64Array.of(-5n, 0n, 2n ** 52n) }))).toEqual([-5, 0, 2 ** 52]);
    expect(Array.from(toFloat64({ dtype: 'F32', shape: [2], data: Float32Array.of(0.5, -3) }))).toEqual([0.5, -3]);
  });
});

describe('safetensors errors name the file and the tensor', () => {
  const good = encodeSafetensors([['layer1.0.conv1.weight', { dtype: 'F32', shape: [2, 3], data: Float32Array.of(1, 2, 3, 4, 5, 6) }]]);

  it('a truncated file', () => {
    const path = join(dir, 'truncated.safetensors');
    writeFileSync(path, good.subarray(0, good.length - 4));
    expect(() => readSafetensors(path)).toThrow(`${path} (tensor 'layer1.0.conv1.weight'): truncated`);
    expect(() => parseSafetensors(good.subarray(0, 20), 'short.st')).toThrow(/^short\.st: truncated or corrupt: header says \d+ bytes of JSON/);
    expect(() => parseSafetensors(good.subarray(0, 5), 'tiny.st')).toThrow('tiny.st: truncated: 5 bytes, expected at least 8');
    expect(() => readSafetensors(join(dir, 'missing.safetensors'))).toThrow(/missing\.safetensors: cannot read/);
  });

  it('a corrupt JSON header', () => {
    const path = join(dir, 'corrupt.safetensors');
    writeFileSync(path, fileWith(null, new Uint8Array(8), '{"w": {"dtype": "F32", '));
    expect(() => readSafetensors(path)).toThrow(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: corrupt JSON header`));
    expect(() => parseSafetensors(fileWith([1, 2], new Uint8Array(0)), 'arr.st')).toThrow('arr.st: corrupt header: not a JSON object');
  });

  it('an unsupported dtype', () => {
    const bytes = fileWith({ 'bn1.weight': { dtype: 'F16', shape: [2], data_offsets: [0, 4] } }, new Uint8Array(4));
    expect(() => parseSafetensors(bytes, 'half.st')).toThrow(`half.st (tensor 'bn1.weight'): unsupported dtype "F16"`);
  });

  it('a shape that does not match its byte range', () => {
    const bytes = fileWith({ 'fc.weight': { dtype: 'F64', shape: [2, 2], data_offsets: [0, 24] } }, new Uint8Array(32));
    expect(() => parseSafetensors(bytes, 'shape.st')).toThrow(`shape.st (tensor 'fc.weight'): shape [2,2] of F64 needs 32 bytes but data_offsets [0, 24] span 24`);
    const neg = fileWith({ 'fc.bias': { dtype: 'F32', shape: [2, -1], data_offsets: [0, 8] } }, new Uint8Array(8));
    expect(() => parseSafetensors(neg, 'neg.st')).toThrow(`neg.st (tensor 'fc.bias'): invalid shape [2,-1]`);
  });

  it('offsets past the end of the data', () => {
    const bytes = fileWith({ ids: { dtype: 'I64', shape: [2], data_offsets: [8, 24] } }, new Uint8Array(16));
    expect(() => parseSafetensors(bytes, 'ids.st')).toThrow(`ids.st (tensor 'ids'): truncated: data_offsets [8, 24] run past the 16 data bytes`);
    const bad = fileWith({ ids: { dtype: 'I64', shape: [2], data_offsets: [16] } }, new Uint8Array(16));
    expect(() => parseSafetensors(bad, 'offs.st')).toThrow(`offs.st (tensor 'ids'): invalid data_offsets [16]`);
  });

  it('the writer rejects data that does not fill the shape, naming the tensor', () => {
    expect(() => encodeSafetensors([['w', { dtype: 'F32', shape: [3], data: new Float32Array(2) }]])).toThrow(`(tensor 'w'): shape [3] holds 3 values but data has 2`);
  });

  it('reads bytes from a Node Buffer at a non-zero offset without aliasing', () => {
    const path = join(dir, 'buf.safetensors');
    writeFileSync(path, good);
    const buf = readFileSync(path);
    const t = parseSafetensors(buf, path).tensors.get('layer1.0.conv1.weight')!;
    buf.fill(0);
    expect(Array.from(t.data as Float32Array)).toEqual([1, 2, 3, 4, 5, 6]);
  });
});
