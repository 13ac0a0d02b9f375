import { type Clock, type InstantNs, StateError, type Timers } from '@syncap/core';

interface Task {
  readonly atNs: InstantNs;
  readonly order: number;
  readonly fn: () => void;
  cancelled: boolean;
}

/** A handle to cancel a scheduled task. */
export interface TaskHandle {
  cancel(): void;
}

/**
 * A discrete-event scheduler that owns virtual time. Tasks run in (time, insertion)
 * order; nothing here reads the real clock, so a run is a pure function of its inputs.
 */
export class SimScheduler {
  private heap: Task[] = [];
  private counter = 0;
  private now: InstantNs;
  /** Tasks run so far. */
  executed = 0;

  constructor(startNs: InstantNs = 0n) {
    this.now = startNs;
  }

  get nowNs(): InstantNs {
    return this.now;
  }

  /** The true (virtual) time as a Clock. */
  readonly clock: Clock = { nowNs: () => this.now };

  /** Timers in virtual milliseconds, for components that take a `Timers`. */
  readonly timers: Timers = {
    setTimeout: (fn, delayMs) => this.after(Math.max(0, delayMs) * 1e6, fn),
    clearTimeout: (handle) => (handle as TaskHandle | undefined)?.cancel(),
  };

  /** Runs `fn` at `atNs` (or now, if that is in the past). */
  at(atNs: InstantNs, fn: () => void): TaskHandle {
    const task: Task = { atNs: atNs < this.now ? this.now : atNs, order: this.counter++, fn, cancelled: false };
    this.siftUp(this.heap.push(task) - 1);
    return {
      cancel: () => {
        task.cancelled = true;
      },
    };
  }

  /** Runs `fn` after `delayNs`. */
  after(delayNs: number, fn: () => void): TaskHandle {
    return this.at(this.now + BigInt(Math.round(delayNs)), fn);
  }

  get pendingTasks(): number {
    return this.heap.length;
  }

  /** Runs the next task; false when there is none. */
  step(): boolean {
    for (;;) {
      const task = this.pop();
      if (!task) return false;
      if (task.cancelled) continue;
      this.now = task.atNs;
      this.executed++;
      task.fn();
      return true;
    }
  }

  /** Runs every task due at or before `untilNs`, then sets the time to `untilNs`. */
  runUntil(untilNs: InstantNs): void {
    for (;;) {
      const head = this.liveHead();
      if (!head || head.atNs > untilNs) break;
      this.step();
    }
    if (untilNs > this.now) this.now = untilNs;
  }

  runFor(durationNs: number): void {
    this.runUntil(this.now + BigInt(Math.round(durationNs)));
  }

  /** Runs until no task is left, at most `maxTasks` (guards against self-rescheduling loops). */
  runAll(maxTasks = 10_000_000): void {
    for (let i = 0; i < maxTasks; i++) if (!this.step()) return;
    throw new StateError(`runAll: more than ${maxTasks} tasks; something reschedules forever`);
  }

  /** Lets pending promise callbacks run between virtual events (for async code under simulation). */
  async runUntilAsync(untilNs: InstantNs, settle: () => Promise<void> = flushMicrotasks): Promise<void> {
    await settle();
    for (;;) {
      const head = this.liveHead();
      if (!head || head.atNs > untilNs) break;
      this.step();
      await settle();
    }
    if (untilNs > this.now) this.now = untilNs;
  }

  /** The next task that will run, discarding cancelled ones at the head. */
  private liveHead(): Task | undefined {
    while (this.heap.length > 0 && this.heap[0]!.cancelled) this.pop();
    return this.heap[0];
  }

  private pop(): Task | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last) {
      heap[0] = last;
      this.siftDown(0);
    }
    return top;
  }

  private less(a: Task, b: Task): boolean {
    return a.atNs < b.atNs || (a.atNs === b.atNs && a.order < b.order);
  }

  private siftUp(i: number): void {
    const heap = this.heap;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(heap[i]!, heap[p]!)) break;
      [heap[i], heap[p]] = [heap[p]!, heap[i]!];
      i = p;
    }
  }

  private siftDown(i: number): void {
    const heap = this.heap;
    const n = heap.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.less(heap[l]!, heap[m]!)) m = l;
      if (r < n && this.less(heap[r]!, heap[m]!)) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m]!, heap[i]!];
      i = m;
    }
  }
}

/** Resolves after already-queued promise callbacks have run. */
export function flushMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
