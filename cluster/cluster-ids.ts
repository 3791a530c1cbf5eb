/**
 * A batch's cluster ids (pseudo-labels) as the kernels take them: a float32 storage, exact for ids
 * below 2^24, checked once here to be integers in [0, K). Made from host values, so on a device
 * backend the B ids go up once for every kernel of the iteration (ClusterNCE, the memory update).
 */
import { TensorStorage } from '../core/tensor-storage.ts';

export function clusterIds(targets: ArrayLike<number> | TensorStorage, B: number, K: number, who: string): TensorStorage {
  const ids = targets instanceof TensorStorage ? targets.read() : targets;
  if (ids.length !== B) throw new Error(`${who}: ${ids.length} targets for a batch of ${B}`);
  for (let b = 0; b < B; b++) {
    const t = ids[b];
    if (!Number.isInteger(t) || t < 0 || t >= K) throw new Error(`${who}: targets[${b}] = ${t} is not a cluster id in [0, K = ${K})`);
  }
  return targets instanceof TensorStorage ? targets : new TensorStorage(Float32Array.from(ids));
}
