import type { SimScheduler } from '@syncap/sim';

/**
 * Drives a SimScheduler at wall-clock speed (for demos a person watches). Tests
 * never use this: they run the scheduler on virtual time.
 */
export class RealtimePacer {
  private timer: NodeJS.Timeout | undefined;
  private readonly startWallNs = process.hrtime.bigint();
  private readonly startSimNs: bigint;

  constructor(
    private readonly scheduler: SimScheduler,
    private readonly stepMs = 5,
  ) {
    this.startSimNs = scheduler.nowNs;
  }

  start(): void {
    this.timer = setInterval(() => {
      this.scheduler.runUntil(this.startSimNs + (process.hrtime.bigint() - this.startWallNs));
    }, this.stepMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
