/**
 * What every command of this project shares (`npm run train`, and for `ablation`, `diagnose`,
 * `bench` to adopt): --version, --help that starts no work, one error format, and exit codes that
 * tell a good run from a bad one.
 *
 *   EXIT.ok 0           finished
 *   EXIT.error 1        stopped by an error (bad data, a file that cannot be read, ...)
 *   EXIT.usage 2        a bad flag or value (nothing was started)
 *   EXIT.diverged 3     training diverged (non-finite loss / gradient / parameter / feature); nothing of it saved
 *   EXIT.collapsed 4    finished, but the last epoch found fewer than 2 clusters: not a trained model
 *   EXIT.interrupted 130  Ctrl-C / SIGTERM: stopped after the current iteration
 */
import { readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { Command, type CommanderError } from 'commander';

export const EXIT = { ok: 0, error: 1, usage: 2, diverged: 3, collapsed: 4, interrupted: 130 } as const;

/** The package version (package.json). */
export function packageVersion(): string {
  return JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version;
}

/**
 * A commander Command with --version, and bad flags exiting with EXIT.usage (help and version with 0).
 * `name` is how the user runs it, e.g. 'npm run diagnose --'.
 */
export function newCommand(name: string, description: string): Command {
  return new Command(name)
    .description(description)
    .version(packageVersion(), '--version', 'print the version and exit')
    .showHelpAfterError('(add --help for every flag)')
    .exitOverride((err: CommanderError) => process.exit(err.exitCode === 0 ? EXIT.ok : EXIT.usage));
}

/** Errors that carry their own exit code (DivergedError sets EXIT.diverged, ...). */
export function exitCodeOf(e: unknown): number {
  const name = (e as Error)?.name;
  if (name === 'DivergedError') return EXIT.diverged;
  if (name === 'UsageError') return EXIT.usage;
  return EXIT.error;
}

/** A bad combination of flags found after parsing (exit code EXIT.usage). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Run `main`, print an error in one format, and exit with its code (MLA_DEBUG=1 adds the stack). */
export function runMain(main: () => Promise<number | void>): void {
  main().then((code) => process.exit(code ?? EXIT.ok), (e) => {
    console.error(`\nerror: ${e?.message ?? e}`);
    if (process.env.MLA_DEBUG === '1') console.error(e?.stack);
    else if (exitCodeOf(e) === EXIT.error) console.error('(set MLA_DEBUG=1 for the stack trace)');
    process.exit(exitCodeOf(e));
  });
}

/**
 * One Ctrl-C often arrives more than once: the terminal signals every process of the group, and
 * npm and tsx each relay it to their child as well. Repeats within this many milliseconds count as one.
 */
const SAME_SIGNAL_MS = 1000;

/**
 * Ctrl-C and SIGTERM: the first asks the work to stop at its next check (`requested()`), a second
 * one (a second later or more) quits at once (exit 130).
 */
export function onInterrupt(say: (line: string) => void): { requested(): boolean } {
  let interrupted = false;
  let at = 0;
  const handler = (signal: string) => {
    if (Date.now() - at < SAME_SIGNAL_MS) return;
    at = Date.now();
    if (interrupted) {
      say(`\n${signal} again: quitting now.`);
      process.exit(EXIT.interrupted);
    }
    interrupted = true;
    say(`\n${signal}: stopping after this iteration (press Ctrl-C again to quit at once)...`);
  };
  process.on('SIGINT', () => handler('SIGINT'));
  process.on('SIGTERM', () => handler('SIGTERM'));
  // relaunched (below): if the process that relaunched us is gone (killed), stop as if interrupted
  const parent = process.env.MLA_RELAUNCHED === '1' ? process.ppid : null;
  return {
    requested: () => {
      if (!interrupted && parent !== null && process.ppid !== parent) {
        interrupted = true;
        say('\nthe parent process is gone: stopping after this iteration...');
      }
      return interrupted;
    },
  };
}

/**
 * Under the `tsx` command (what `npm run train` runs), the script runs in a child of tsx's own
 * process, which on Ctrl-C waits 30 ms for the child to acknowledge the signal and then kills it
 * (SIGKILL). A training step is synchronous for longer than that, so the trainer could never finish
 * its iteration. Instead the tsx child relaunches the script as a plain `node --import tsx` process
 * in its own process group, forwards SIGINT / SIGTERM to it, and exits with its exit code.
 * Returns false (and does nothing) when not under the tsx command.
 */
export function relaunchOutsideTsxWatchdog(): boolean {
  const args = process.execArgv;
  const preflight = args.findIndex((a) => /tsx[\\/]dist[\\/]preflight\.cjs$/.test(a));
  if (preflight < 0 || process.env.MLA_RELAUNCHED === '1') return false;
  const execArgv = args.filter((_, i) => i !== preflight && i !== preflight - 1);
  const child = spawn(process.execPath, [...execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    detached: true, // its own process group: a terminal's Ctrl-C reaches it only through us
    env: { ...process.env, MLA_RELAUNCHED: '1' },
  });
  let at = 0;
  const forward = (signal: NodeJS.Signals) => {
    if (Date.now() - at < SAME_SIGNAL_MS) return; // tsx's relay of the same Ctrl-C
    at = Date.now();
    if (child.exitCode === null) child.kill(signal);
  };
  process.on('SIGINT', () => forward('SIGINT'));
  process.on('SIGTERM', () => forward('SIGTERM'));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 + (signal === 'SIGINT' ? 2 : 15) : EXIT.error)));
  return true;
}
