import { createHash } from 'node:crypto';

/**
 * The soak run's event log: one JSON line per event, stamped with virtual time, fed to
 * a sha256 digest (the same seed gives the same digest), to an optional sink (JSON Lines
 * on disk) and to a short ring of the latest lines (shown when an invariant fails).
 */
export class SoakEventLog {
  private readonly digest = createHash('sha256');
  private readonly recentLines: string[] = [];
  /** Events logged so far. */
  count = 0;

  constructor(
    private readonly nowNs: () => bigint,
    private readonly onLine?: (line: string) => void,
    private readonly keepRecent = 20,
  ) {}

  log(type: string, fields: Record<string, unknown> = {}): void {
    const line = JSON.stringify({ t: Number(this.nowNs() / 1000n) / 1e6, type, ...fields }, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
    this.digest.update(line);
    this.digest.update('\n');
    this.count++;
    this.recentLines.push(line);
    if (this.recentLines.length > this.keepRecent) this.recentLines.shift();
    this.onLine?.(line);
  }

  /** The latest lines, oldest first. */
  get recent(): readonly string[] {
    return this.recentLines;
  }

  /** The digest of every line so far (hex). Call once, at the end. */
  digestHex(): string {
    return this.digest.digest('hex');
  }
}
