/**
 * The kernels of ClusterNCE (paper eq. 1) and the memory dictionary, on every backend, against the
 * float64 references (spec/reference/): softmax cross-entropy and its backward, and the memory
 * update (batch-hard and momentum), at the real shapes of a training iteration (batch 64 of 16
 * identities × 4, 700 clusters, D = 2048 as ResNet-50's embedding) and on random shapes (fast-check).
 * Per-row values (p, the losses, the logits' gradient) are in the backend's state precision.
 */
import { it } from 'vitest';
import fc from 'fast-check';
import { checkCrossEntropy, checkMemoryUpdate } from './cluster-nce-checks.ts';
import { describeEachBackend } from './each-backend.ts';

describeEachBackend('ClusterNCE kernels: softmax cross-entropy and the memory update', () => {
  it('softmax cross-entropy and its backward, batch 64 over 700 clusters and batch 8 over 7', () => {
    checkCrossEntropy(64, 700, 1);
    checkCrossEntropy(8, 7, 2);
  });

  for (const hard of [true, false]) {
    it(`the memory update (${hard ? 'batch-hard' : 'momentum'}), 700 rows of 2048, a batch of 16 clusters × 4`, () => {
      checkMemoryUpdate(700, 2048, 64, hard, hard ? 3 : 4);
    });
  }

  it('on random shapes: softmax cross-entropy and its backward, the memory update in both modes', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 600 }), fc.integer({ min: 1, max: 40 }),
      fc.integer({ min: 1, max: 300 }), fc.boolean(), fc.integer({ min: 0, max: 1000 }), (rows, n, B, D, hard, seed) => {
        checkCrossEntropy(rows, n, seed);
        checkMemoryUpdate(Math.max(1, n % 50), D, B, hard, seed);
      }), { numRuns: 30 });
  });
});
