/**
 * A budget for lines that peers can cause (rejections, refusals): at most `perWindow`
 * lines in each window of `windowMs`; the rest are counted and reported once the window
 * ends, so a flood costs a few log lines, not one per connection.
 */
export class LogBudget {
  private windowStartMs: number | undefined;
  private used = 0;
  private suppressed = 0;
  private unreported = 0;

  constructor(
    readonly perWindow = 20,
    readonly windowMs = 10_000,
  ) {}

  /** Whether one more line may be written now; if not, it is counted. */
  admit(nowMs: number): boolean {
    this.roll(nowMs);
    if (this.used < this.perWindow) {
      this.used++;
      return true;
    }
    this.suppressed++;
    return false;
  }

  /** Lines held back in windows that have ended, each told once (0 when there are none). */
  takeSuppressed(nowMs: number): number {
    this.roll(nowMs);
    const n = this.unreported;
    this.unreported = 0;
    return n;
  }

  private roll(nowMs: number): void {
    if (this.windowStartMs !== undefined && nowMs - this.windowStartMs < this.windowMs) return;
    this.unreported += this.suppressed;
    this.suppressed = 0;
    this.used = 0;
    this.windowStartMs = nowMs;
  }
}
