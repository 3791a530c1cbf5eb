/**
 * What the user sees while training: a progress bar per phase (with rate and time left) on a
 * terminal, nothing but the per-epoch lines when the output is not a terminal (logs, CI, tests).
 */
import cliProgress from 'cli-progress';

export interface Reporter {
  /** Start a phase of `total` steps; returns a function to call with the steps done so far. */
  phase(label: string, total: number, unit: string): { update(done: number, extra?: string): void; stop(): void };
  line(text: string): void;
}

export function terminalReporter(): Reporter {
  const tty = process.stderr.isTTY === true;
  return {
    phase(label, total, unit) {
      if (!tty) return { update() {}, stop() {} };
      const bar = new cliProgress.SingleBar({
        format: `${label.padEnd(22)} [{bar}] {value}/{total} ${unit} | {rate} ${unit}/s | ETA {eta_formatted} {extra}`,
        barsize: 24,
        stream: process.stderr,
        hideCursor: true,
        clearOnComplete: true,
        etaBuffer: 20,
      }, cliProgress.Presets.shades_classic);
      const start = performance.now();
      bar.start(total, 0, { rate: '-', extra: '' });
      return {
        update(done, extra = '') {
          const rate = done / Math.max((performance.now() - start) / 1000, 1e-9);
          bar.update(done, { rate: rate.toFixed(1), extra });
        },
        stop() {
          bar.stop();
        },
      };
    },
    line(text) {
      console.log(text);
    },
  };
}

/** Collects lines only (tests). */
export function silentReporter(lines: string[] = []): Reporter & { lines: string[] } {
  return {
    lines,
    phase: () => ({ update() {}, stop() {} }),
    line(text) {
      lines.push(text);
    },
  };
}
