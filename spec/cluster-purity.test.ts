/** cluster/purity.ts: the share of clustered samples carrying their cluster's majority value. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { clusterPurity } from '../cluster/purity.ts';

const labelled = fc.array(fc.tuple(fc.integer({ min: -1, max: 5 }), fc.integer({ min: 0, max: 3 })), { minLength: 1, maxLength: 60 });

describe('cluster purity', () => {
  it('equals the count of majority members over the clustered samples', () => {
    fc.assert(fc.property(labelled, (pairs) => {
      const labels = pairs.map(([l]) => l), values = pairs.map(([, v]) => v);
      const clusters = [...new Set(labels.filter((l) => l >= 0))];
      const majority = clusters.reduce((sum, k) => {
        const vs = values.filter((_, i) => labels[i] === k);
        return sum + Math.max(...vs.map((v) => vs.filter((w) => w === v).length));
      }, 0);
      const clustered = labels.filter((l) => l >= 0).length;
      const got = clusterPurity(labels, values);
      if (clustered === 0) expect(got).toBeNaN();
      else expect(got).toBeCloseTo(majority / clustered, 12);
    }));
  });

  it('is 1 for a clustering against its own labels, and 0.5 for two values split evenly', () => {
    expect(clusterPurity([0, 0, 1, 1, -1], [0, 0, 1, 1, 7])).toBe(1);
    expect(clusterPurity([0, 0, 0, 0], [1, 2, 1, 2])).toBe(0.5);
    expect(() => clusterPurity([0], [0, 1])).toThrow(/1 labels for 2/);
  });
});
