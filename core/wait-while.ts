/**
 * Blocks this thread while `ctl[index]` still holds `value`, for at most `ms` milliseconds in all;
 * false when the time ran out. A single Atomics.wait is not enough: a notify that another thread
 * sent for an earlier round can arrive after this round set `value` again (the notifier was
 * descheduled between its store and its notify), and wakes the waiter with nothing done.
 */
export function waitWhile(ctl: Int32Array, index: number, value: number, ms = Infinity): boolean {
  const deadline = performance.now() + ms;
  while (Atomics.load(ctl, index) === value) {
    const left = deadline - performance.now();
    if (left <= 0) return false;
    Atomics.wait(ctl, index, value, left);
  }
  return true;
}
