// The wasm backend's kernels (core/wasm/kernels.ts loads them): build with `npm run build:wasm`.
export { gemm, gemmScratchBytes, gemmPackedABytes, setEdgeScratch, EDGE_SCRATCH_BYTES } from './gemm';
export { convForward, convBackpropFilter, convBackpropInput } from './conv';
export { relu, reluBackward, add, addInto } from './elementwise';
export { batchNormStatistics, batchNormNormalize, batchNormBackward } from './batchnorm';
export { maxPool2d } from './pool';
export { softmax, softmaxBackward } from './softmax';
export { expF64 } from './exp';
export { unary, unaryBackward } from './unary';
export { broadcastBinary, broadcastBinaryBackward } from './broadcast';
export { multiplyAddPeak } from './peak';
