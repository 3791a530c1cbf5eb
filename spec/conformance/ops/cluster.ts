/**
 * Conformance ops of cluster/: jaccard_distance, dbscan, memory_update, cluster_nce
 * (contract: ../shared/conformance/README.md). Float64 throughout.
 */
import { clusterNce } from '../../../cluster/cluster-nce.ts';
import { dbscanDense } from '../../../cluster/dbscan.ts';
import { jaccardDistance } from '../../../cluster/jaccard.ts';
import { memoryUpdate } from '../../../cluster/memory.ts';
import { densify } from '../../../cluster/sparse.ts';
import { dbscanDisagreement } from '../../reference/cluster-dbscan-rule.ts';
import { registerOp } from '../registry.ts';

registerOp('jaccard_distance', {
  run({ inputs, attrs }) {
    const [N, D] = inputs.features.shape;
    const rows = jaccardDistance(inputs.features.data, N, D, { k1: attrs.k1, k2: attrs.k2 });
    return { outputs: { dist: densify(rows, 1) } };
  },
});

registerOp('dbscan', {
  run({ inputs, attrs }) {
    const N = inputs.dist.shape[0];
    return { outputs: { labels: Float64Array.from(dbscanDense(inputs.dist.data, N, attrs.eps, attrs.min_samples)) } };
  },
  // The contract: noise and core points exact up to renumbering; border points any cluster with a core point within eps.
  compare(_name, got, want, { inputs, attrs }) {
    const why = dbscanDisagreement(got, want, inputs.dist.data, inputs.dist.shape[0], attrs.eps, attrs.min_samples);
    return why === null ? { error: 0 } : { error: 1, note: why };
  },
});

registerOp('memory_update', {
  run({ inputs, attrs }) {
    const [K, D] = inputs.memory.shape;
    const B = inputs.f.shape[0];
    const memory = Float64Array.from(inputs.memory.data);
    // The contract's mode "centroid" is the per-sample momentum update.
    const mode = attrs.mode === 'centroid' ? 'momentum' : attrs.mode;
    memoryUpdate(memory, K, D, inputs.f.data, B, inputs.targets.data, attrs.momentum, mode);
    return { outputs: { new_memory: memory } };
  },
});

registerOp('cluster_nce', {
  run({ inputs, attrs, upstream }) {
    const [B, D] = inputs.f.shape;
    const K = inputs.memory.shape[0];
    const { loss, gradF } = clusterNce(inputs.f.data, B, D, inputs.memory.data, K, inputs.targets.data, attrs.temp);
    const g = upstream.loss ? upstream.loss.data[0] : 1;
    return { outputs: { loss }, grads: { f: Float64Array.from(gradF, (v) => v * g) } };
  },
});
