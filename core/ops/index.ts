/** The named set of autograd primitives. Layers (nn/) are compositions of these. */
export { add, sub, mul, div, addScalar, mulScalar, relu, sigmoid, broadcastShape } from './elementwise.ts';
export { reshape, permute } from './shape.ts';
export { sum, mean } from './reduce.ts';
export { softmax } from './softmax.ts';
export { bmm, linear } from './matmul.ts';
export { conv2d, convOutputSize, type Conv2dAttrs } from './conv.ts';
export { batchNorm, l2Normalize, type BatchNormAttrs } from './norm.ts';
export { maxPool2d, globalAvgPool, gem, type MaxPoolAttrs } from './pool.ts';
