/**
 * A run's output folder (`--out`): what a run writes there, and the rules that keep a user's earlier
 * results safe.
 *
 *   - a folder that already holds a run (a checkpoint) is refused, unless the run resumes it
 *     from its own last.safetensors (`--resume`) or is told to replace it (`--overwrite`, which
 *     deletes only RUN_FILES);
 *   - temporary files left by a process killed in the middle of an atomic write are removed;
 *   - the resolved config is written as config.json.
 */
import { existsSync, mkdirSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ATOMIC_TEMPORARY, writeFileAtomic } from '../../core/safetensors.ts';

/** The files a training run writes into its folder (pictures included). */
export const RUN_FILES = ['config.json', 'metrics.jsonl', 'last.safetensors', 'best.safetensors', 'curves.png', 'retrieval.png', 'gradcam.png'];

export class RunFolderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunFolderError';
  }
}

/** The run files present in `out` (empty when the folder is new or holds none). */
export function runFilesIn(out: string): string[] {
  return existsSync(out) ? RUN_FILES.filter((f) => existsSync(join(out, f))) : [];
}

/**
 * Make `out` ready for a run: create it, remove stale temporary files, refuse or clear an earlier
 * run, write config.json. A resumed run (`resumeFrom`: the checkpoint it continues) may use a folder
 * whose last.safetensors is that checkpoint; any other used folder needs `overwrite` (when resuming,
 * nothing is deleted: the resumed run rewrites metrics.jsonl and the checkpoints as it goes).
 * Returns the temporary files removed.
 */
export function prepareRunFolder(out: string, config: object, mode: { resumeFrom?: string; overwrite?: boolean }): string[] {
  if (existsSync(out) && !statSync(out).isDirectory()) throw new RunFolderError(`--out ${out}: exists and is not a folder`);
  mkdirSync(out, { recursive: true });
  const removed: string[] = [];
  for (const f of readdirSync(out)) {
    if (ATOMIC_TEMPORARY.test(f)) {
      unlinkSync(join(out, f));
      removed.push(f);
    }
  }
  // a folder holds a run when it holds a checkpoint; the config.json / metrics.jsonl of a run that
  // stopped before its first checkpoint (diverged, interrupted) are replaced without asking
  const used = runFilesIn(out);
  const hasRun = used.some((f) => f.endsWith('.safetensors'));
  const continuing = mode.resumeFrom !== undefined && resolve(mode.resumeFrom) === resolve(out, 'last.safetensors');
  if (hasRun && !continuing && !mode.overwrite) {
    throw new RunFolderError(mode.resumeFrom !== undefined
      ? `--out ${out} already holds a run (${used.join(', ')}) whose last checkpoint is not ${mode.resumeFrom}: resuming there would replace it. ` +
        'Resume into another folder with --out DIR, or pass --overwrite.'
      : `--out ${out} already holds a run (${used.join(', ')}). Continue it with --resume, ` +
        'write elsewhere with --out DIR, or replace it with --overwrite (deletes those files).');
  }
  if (mode.resumeFrom === undefined) for (const f of used) unlinkSync(join(out, f));
  writeFileAtomic(join(out, 'config.json'), JSON.stringify(config, null, 2) + '\n');
  return removed;
}
