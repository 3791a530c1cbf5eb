/** Minimal types for the `ndarray-ops` package (it ships none). */
declare module 'ndarray-ops' {
  import type ndarray from 'ndarray';
  type Nd = ndarray.NdArray<any>;
  const ops: {
    assign(out: Nd, a: Nd): Nd;
    add(out: Nd, a: Nd, b: Nd): Nd;
    addeq(out: Nd, a: Nd): Nd;
    sub(out: Nd, a: Nd, b: Nd): Nd;
    mul(out: Nd, a: Nd, b: Nd): Nd;
    muleq(out: Nd, a: Nd): Nd;
    muls(out: Nd, a: Nd, s: number): Nd;
    mulseq(out: Nd, s: number): Nd;
    div(out: Nd, a: Nd, b: Nd): Nd;
    assigns(out: Nd, s: number): Nd;
    sum(a: Nd): number;
    sup(a: Nd): number;
    inf(a: Nd): number;
  };
  export default ops;
}
