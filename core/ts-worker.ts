/**
 * Worker threads whose code is TypeScript: a two-line bootstrap loads the worker module through
 * tsx's ESM API (the same loader `npm run` uses). The one home of that bootstrap, for the GEMM
 * helpers (core/gemm-parallel.ts), the k-NN search (cluster/knn.ts) and evaluation
 * (reid/eval/evaluate-parallel.ts).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

const tsxApi = new URL('../node_modules/tsx/dist/esm/api/index.mjs', import.meta.url);

/** Whether TypeScript workers can start here (tsx installed beside the project). */
export function tsWorkersAvailable(): boolean {
  return existsSync(fileURLToPath(tsxApi));
}

/** Start the TypeScript module `url` in a worker thread. */
export function startTsWorker(url: URL, options: Omit<WorkerOptions, 'eval'> = {}): Worker {
  const bootstrap = `import(${JSON.stringify(tsxApi.href)}).then((m) => m.tsImport(${JSON.stringify(url.href)}, ${JSON.stringify(url.href)}))`;
  return new Worker(bootstrap, { ...options, eval: true });
}
