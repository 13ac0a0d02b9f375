import type { Timers } from '@syncap/core';

/**
 * The timers of one simulated process. `kill()` cancels every pending timer and
 * ignores new ones: a crashed process runs no more code, whatever its objects still
 * reference. Handles are tracked in a Set, so the bookkeeping stays bounded.
 */
export class ProcessTimers implements Timers {
  private readonly pending = new Set<{ handle: unknown }>();
  private dead = false;

  constructor(private readonly base: Timers) {}

  setTimeout(fn: () => void, delayMs: number): unknown {
    if (this.dead) return undefined;
    const entry: { handle: unknown } = { handle: undefined };
    entry.handle = this.base.setTimeout(() => {
      this.pending.delete(entry);
      if (!this.dead) fn();
    }, delayMs);
    this.pending.add(entry);
    return entry;
  }

  clearTimeout(handle: unknown): void {
    const entry = handle as { handle: unknown } | undefined;
    if (!entry || !this.pending.delete(entry)) return;
    this.base.clearTimeout(entry.handle);
  }

  /** Cancels everything pending; later calls schedule nothing. */
  kill(): void {
    this.dead = true;
    for (const entry of this.pending) this.base.clearTimeout(entry.handle);
    this.pending.clear();
  }

  get alive(): boolean {
    return !this.dead;
  }

  /** Timers pending (a bounded-memory check). */
  get size(): number {
    return this.pending.size;
  }
}
