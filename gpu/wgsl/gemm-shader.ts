/**
 * WGSL source of the tiled GEMM (issue 12: "gpu.js where it serves, WGSL where it cannot").
 *
 * gpu.js's kernel language has no workgroup memory and no barriers, so its GEMM (gpu/kernels/gemm.ts)
 * reads every operand element from global memory K times per output. This shader is the classic
 * shared-memory tiling:
 *
 *   - a workgroup of WX x WY invocations owns a TM x TN tile of the output (64 x 64; 16 x 64 for
 *     M <= 16 and 8 x 64 for M <= 8, the tiny model's 8-channel convs), each invocation
 *     RM = TM/WY rows x RN = TN/WX columns of it (held in registers), rows ly + WY*r and columns
 *     lx + WX*c, so neighbouring invocations read neighbouring shared words and write neighbouring
 *     global words;
 *   - K is walked in slabs of TK: the workgroup stages op(A)[tile rows, slab] and op(B)[slab, tile
 *     columns] in workgroup memory (as [k][m] and [k][n]), barrier, every invocation runs the TK
 *     rank-1 updates of its RM x RN block from shared memory, barrier, next slab;
 *   - the transposes are resolved at staging time, one shader per (transA, transB): each case's
 *     staging loop walks the operand in its memory order so consecutive invocations load consecutive
 *     words; partial tiles (M, N, K not multiples of the tile) stage zeros and skip the stores.
 *
 * Split-K (kChunk != 0, for outputs too small to occupy the device): workgroup z sums slabs
 * [z*kChunk, (z+1)*kChunk) of one product into its own partial [M, N] (Out at z*strideC, alpha 1, no
 * beta); a batch-summed product (nSum > 1) is split the same way along its batch, partial z summing
 * entries [z*nSum, (z+1)*nSum). splitKReduceShader then sums the partials in z order and applies
 * alpha and beta, into C where it lies (cOff, ldc), in place or not.
 *
 * Integer arithmetic is u32 throughout (exact: gpu/wgsl/gemm.ts refuses any operand that a storage
 * binding, and so a u32 element index, cannot address). Loop bounds come from the uniform block and
 * have no caps.
 *
 * Semantics, per z in [0, dispatch z) (a batch entry; `nSum` > 1 sums batch entries instead):
 *   Out[z*strideC + cOff + i*ldc + j] = alpha * sum_{s<nSum} sum_k op(A_b)[i,k] op(B_b)[k,j]
 *       (+ beta * Cin[same index] when useBeta = 1, + beta * Out[same index] when useBeta = 2 (C
 *       updated in place); neither is read otherwise)
 *   with b = z*nSum + s,  A_b at aOff + b*strideA,  B_b at bOff + b*strideB,
 *   op(A_b)[i,k] = A[A_b + i*lda + k]  (transA: A[A_b + k*lda + i]),
 *   op(B_b)[k,j] = B[B_b + k*ldb + j]  (transB: B[B_b + j*ldb + k]).
 */

export interface TileConfig {
  /** output rows and columns per workgroup */
  TM: number; TN: number;
  /** K slab staged per barrier pair */
  TK: number;
  /** workgroup size (x across columns, y across rows) */
  WX: number; WY: number;
}

/** 64 x 64 tiles, 16 x 16 invocations, 4 x 4 outputs each. */
export const TILE_LARGE: TileConfig = { TM: 64, TN: 64, TK: 16, WX: 16, WY: 16 };
/** 16-row tiles for short outputs (M <= 16, e.g. the tiny model's 8-channel convs): 16 x 64, 16 x 8 invocations. */
export const TILE_SHORT: TileConfig = { TM: 16, TN: 64, TK: 16, WX: 16, WY: 8 };
/** 8-row tiles for the shortest outputs (M <= 8): 8 x 64, 16 x 8 invocations, 1 x 4 outputs each. */
export const TILE_TINY: TileConfig = { TM: 8, TN: 64, TK: 16, WX: 16, WY: 8 };

/** Layout of the uniform block: PARAM_WORDS u32/f32 words (80 bytes), word indices below. */
export const PARAM_WORDS = 20;
export const PARAM = {
  M: 0, N: 1, K: 2, nSum: 3, lda: 4, ldb: 5, aOff: 6, bOff: 7,
  strideA: 8, strideB: 9, strideC: 10, useBeta: 11, alpha: 12, beta: 13, gx: 14, gy: 15, gz: 16, kChunk: 17, cOff: 18, ldc: 19,
} as const;

function checkConfig(c: TileConfig): void {
  const threads = c.WX * c.WY;
  if (c.TM % c.WY || c.TN % c.WX || (c.TM * c.TK) % threads || (c.TK * c.TN) % threads) {
    throw new Error(`wgsl gemm: tile ${JSON.stringify(c)} does not divide evenly among its invocations`);
  }
}

export function gemmShader(c: TileConfig, transA: boolean, transB: boolean): string {
  checkConfig(c);
  const { TM, TN, TK, WX, WY } = c;
  const T = WX * WY;
  const RM = TM / WY;
  const RN = TN / WX;
  const loadsA = (TM * TK) / T;
  const loadsB = (TK * TN) / T;
  // Staging: element e of the tile, split so that the fast index follows the operand's memory order.
  const stageA = transA
    ? `let kk = e / ${TM}u; let mm = e % ${TM}u;
        let gi = row0 + mm; let gk = k0 + kk;
        var v = 0.0;
        if (gi < p.M && gk < p.K) { v = A[aBase + gk * p.lda + gi]; }
        As[kk * ${TM}u + mm] = v;`
    : `let mm = e / ${TK}u; let kk = e % ${TK}u;
        let gi = row0 + mm; let gk = k0 + kk;
        var v = 0.0;
        if (gi < p.M && gk < p.K) { v = A[aBase + gi * p.lda + gk]; }
        As[kk * ${TM}u + mm] = v;`;
  const stageB = transB
    ? `let nn = e / ${TK}u; let kk = e % ${TK}u;
        let gj = col0 + nn; let gk = k0 + kk;
        var v = 0.0;
        if (gj < p.N && gk < p.K) { v = B[bBase + gj * p.ldb + gk]; }
        Bs[kk * ${TN}u + nn] = v;`
    : `let kk = e / ${TN}u; let nn = e % ${TN}u;
        let gj = col0 + nn; let gk = k0 + kk;
        var v = 0.0;
        if (gj < p.N && gk < p.K) { v = B[bBase + gk * p.ldb + gj]; }
        Bs[kk * ${TN}u + nn] = v;`;
  const rows = [...Array(RM).keys()];
  const cols = [...Array(RN).keys()];
  const lines = (n: number, f: (i: number) => string) => [...Array(n).keys()].map(f).join('\n');
  // Everything with a compile-time trip count is unrolled here, so the accumulators are scalars in
  // registers (SwiftShader's compiler keeps indexed local arrays in memory).
  const decl = rows.map((r) => `  var acc${r}_0 = 0.0;` + cols.slice(1).map((c) => ` var acc${r}_${c} = 0.0;`).join('')).join('\n');
  const stage = lines(loadsA, (l) => `      {
        let e = t + ${l * T}u;
        ${stageA}
      }`) + '\n' + lines(loadsB, (l) => `      {
        let e = t + ${l * T}u;
        ${stageB}
      }`);
  const inner = `        let ak = kk * ${TM}u + lid.y;
        let bk = kk * ${TN}u + lid.x;
${lines(RM, (r) => `        let a${r} = As[ak + ${r * WY}u];`)}
${lines(RN, (c) => `        let b${c} = Bs[bk + ${c * WX}u];`)}
${rows.map((r) => '        ' + cols.map((c) => `acc${r}_${c} = fma(a${r}, b${c}, acc${r}_${c});`).join(' ')).join('\n')}`;
  const store = rows.map((r) => `  {
    let i = row0 + lid.y + ${r * WY}u;
    if (i < p.M) {
${cols.map((c) => `      {
        let j = col0 + lid.x + ${c * WX}u;
        if (j < p.N) {
          let o = outBase + p.cOff + i * p.ldc + j;
          var v = p.alpha * acc${r}_${c};
          if (p.useBeta == 1u) { v = v + p.beta * Cin[o]; } else if (p.useBeta == 2u) { v = v + p.beta * Out[o]; }
          Out[o] = v;
        }
      }`).join('\n')}
    }
  }`).join('\n');
  return /* wgsl */ `
struct Params {
  M: u32, N: u32, K: u32, nSum: u32,
  lda: u32, ldb: u32, aOff: u32, bOff: u32,
  strideA: u32, strideB: u32, strideC: u32, useBeta: u32,
  alpha: f32, beta: f32, gx: u32, gy: u32,
  gz: u32, kChunk: u32, cOff: u32, ldc: u32,
}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read> Cin: array<f32>;
@group(0) @binding(4) var<storage, read_write> Out: array<f32>;

var<workgroup> As: array<f32, ${TK * TM}>;
var<workgroup> Bs: array<f32, ${TK * TN}>;

@compute @workgroup_size(${WX}, ${WY}, 1)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let row0 = (wid.y + p.gy) * ${TM}u;
  let col0 = (wid.x + p.gx) * ${TN}u;
  let z = wid.z + p.gz;
  let t = lid.y * ${WX}u + lid.x;
${decl}
  let slabs = (p.K + ${TK - 1}u) / ${TK}u;
  // split-K: workgroup z sums only its chunk of slabs (z indexes the chunk, not a batch entry)
  var slabBegin = 0u;
  var slabEnd = slabs;
  if (p.kChunk != 0u) {
    slabBegin = min(slabs, z * p.kChunk);
    slabEnd = min(slabs, slabBegin + p.kChunk);
  }
  for (var s = 0u; s < p.nSum; s++) {
    let b = z * p.nSum + s;
    let aBase = p.aOff + b * p.strideA;
    let bBase = p.bOff + b * p.strideB;
    for (var slab = slabBegin; slab < slabEnd; slab++) {
      let k0 = slab * ${TK}u;
${stage}
      workgroupBarrier();
${lines(TK, (kk) => `      {
        let kk = ${kk}u;
${inner}
      }`)}
      workgroupBarrier();
    }
  }
  let outBase = z * p.strideC;
${store}
}
`;
}

/** Uniform block of the split reduction: n, parts, useBeta, N, alpha, beta, cOff, ldc. */
export const REDUCE_WORDS = 8;

/**
 * Out[o] = alpha * sum_{z < parts} Part[z*n + i] in z order, o = cOff + (i / N)*ldc + i % N (the
 * product's [M, N] output where it lies in Out), + beta * Cin[o] when useBeta = 1, + beta * Out[o]
 * when useBeta = 2 (C updated in place).
 */
export function splitKReduceShader(): string {
  return /* wgsl */ `
struct R { n: u32, parts: u32, useBeta: u32, N: u32, alpha: f32, beta: f32, cOff: u32, ldc: u32 }
@group(0) @binding(0) var<uniform> r: R;
@group(0) @binding(1) var<storage, read> Part: array<f32>;
@group(0) @binding(2) var<storage, read> Cin: array<f32>;
@group(0) @binding(3) var<storage, read_write> Out: array<f32>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let i = g.y * (nw.x * 256u) + g.x;
  if (i >= r.n) { return; }
  var s = 0.0;
  for (var z = 0u; z < r.parts; z++) { s = s + Part[z * r.n + i]; }
  var v = r.alpha * s;
  let o = r.cOff + (i / r.N) * r.ldc + i % r.N;
  if (r.useBeta == 1u) { v = v + r.beta * Cin[o]; } else if (r.useBeta == 2u) { v = v + r.beta * Out[o]; }
  Out[o] = v;
}
`;
}
