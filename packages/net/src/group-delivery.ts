import { ConfigError, type FrameGroup, type Timers } from '@syncap/core';
import { RingQueue } from '@syncap/core/internal';

/** How a SyncNode hands groups to the application (the seed's delivery delay, DESIGN §4). */
export interface DeliveryOptions {
  /**
   * Hand each group over at its rig time (its earliest frame's) plus this delay, ns, so
   * that every host processes the same instant at the same wall time. 0: as soon as it
   * forms. The server's delivery-delay command replaces it (unless `followServer` is false).
   * Default 0.
   */
  readonly delayNs?: number;
  /** Apply the server's delivery-delay commands. Default true. */
  readonly followServer?: boolean;
  /**
   * Groups held waiting for their instant at most (they hold camera buffers). Past this the
   * oldest is handed over early if it is not due yet and the application is idle, else
   * dropped (released); both are counted. Default 16.
   */
  readonly maxHeld?: number;
}

/** What happened to the groups (counts since start). */
export interface DeliveryStats {
  /** The delay in force, ns (0: groups go out as they form). */
  readonly delayNs: number;
  /** Handed over at their instant (the node waited for it). */
  readonly onTime: number;
  /** Already past their instant when their turn came: handed over at once, never held further. */
  readonly late: number;
  /** How late the latest of those was, ns. */
  readonly lastLateByNs: number;
  /** Handed over before their instant because `maxHeld` groups were waiting (the delay is too long for the bound). */
  readonly early: number;
  /** Dropped (released) because `maxHeld` groups were waiting for an application that is behind. */
  readonly dropped: number;
  /** Waiting now. */
  readonly held: number;
}

/**
 * The delivery stage between a node's local grouping and the application: a bounded FIFO
 * that releases each group at rig time + delay, one at a time (a consumer's promise is
 * awaited before the next). Reporting to the server happens before this stage and is
 * never delayed.
 */
export class GroupDelivery {
  private delayNs: number;
  private readonly maxHeld: number;
  private readonly queue = new RingQueue<FrameGroup>(16);
  private timer: unknown;
  /** The application is processing a group. */
  private busy = false;
  private readonly counts = { onTime: 0, late: 0, lastLateByNs: 0, early: 0, dropped: 0 };
  private readonly idle: Array<() => void> = [];
  /** Stopping: everything waiting goes now. */
  private flushing = false;

  constructor(
    options: DeliveryOptions,
    private readonly timers: Timers,
    /** Rig time now, ns. */
    private readonly rigNow: () => bigint,
    /** The application's consumer (it must not throw: errors are its caller's to handle). */
    private readonly consume: (group: FrameGroup) => Promise<void>,
  ) {
    this.delayNs = checkDelay(options.delayNs ?? 0);
    this.maxHeld = options.maxHeld ?? 16;
    if (!Number.isInteger(this.maxHeld) || this.maxHeld < 1) throw new ConfigError(`delivery.maxHeld must be a positive integer, got ${options.maxHeld}`);
  }

  get currentDelayNs(): number {
    return this.delayNs;
  }

  /** Changes the delay; the groups waiting are due at their new instants. */
  setDelay(delayNs: number): void {
    this.delayNs = checkDelay(delayNs);
    if (!this.busy) this.pump();
  }

  stats(): DeliveryStats {
    return { delayNs: this.delayNs, ...this.counts, held: this.queue.length };
  }

  push(group: FrameGroup): void {
    if (this.queue.length >= this.maxHeld) {
      const oldest = this.queue.shift()!;
      if (!this.busy && this.flushing === false && this.dueNs(oldest) > this.rigNow()) {
        // The delay is longer than the bound allows: better early than lost.
        this.cancelTimer();
        this.counts.early++;
        this.handOver(oldest);
      } else {
        // The application is behind: its oldest waiting group goes.
        this.counts.dropped++;
        oldest.release();
      }
    }
    this.queue.push(group);
    if (!this.busy) this.pump();
  }

  /** Hands every waiting group over now, one after the other (the node is stopping); resolves when all are consumed. */
  flush(): Promise<void> {
    this.flushing = true;
    if (!this.busy) this.pump();
    return this.whenIdle();
  }

  /** Resolves once no group waits and the application is idle. */
  whenIdle(): Promise<void> {
    if (!this.busy && this.queue.length === 0) {
      this.flushing = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /** Hands the head over if its instant has come, or waits for it. */
  private pump(): void {
    this.cancelTimer();
    const head = this.queue.peek();
    if (head === undefined || this.busy) return;
    if (this.delayNs === 0 || this.flushing) {
      this.handOver(this.queue.shift()!);
      return;
    }
    const due = this.dueNs(head);
    const waitNs = Number(due - this.rigNow());
    if (waitNs > 0) {
      this.timer = this.timers.setTimeout(() => {
        this.timer = undefined;
        // Timers may wake a little early (ms resolution); the next pump waits out the rest.
        if (Number(due - this.rigNow()) <= 0) {
          this.counts.onTime++;
          this.handOver(this.queue.shift()!);
        } else {
          this.pump();
        }
      }, waitNs / 1e6);
      return;
    }
    this.counts.late++;
    this.counts.lastLateByNs = -waitNs;
    this.handOver(this.queue.shift()!);
  }

  private dueNs(group: FrameGroup): bigint {
    return group.timeNs + BigInt(Math.round(this.delayNs));
  }

  private handOver(group: FrameGroup): void {
    this.busy = true;
    void this.consume(group).finally(() => {
      this.busy = false;
      this.pump();
      if (!this.busy && this.queue.length === 0) {
        this.flushing = false;
        for (const resolve of this.idle.splice(0)) resolve();
      }
    });
  }

  private cancelTimer(): void {
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }
}

function checkDelay(delayNs: number): number {
  if (typeof delayNs !== 'number' || !Number.isFinite(delayNs) || delayNs < 0) {
    throw new ConfigError(`delivery.delayNs must be a non-negative number of ns, got ${delayNs}`);
  }
  return delayNs;
}
