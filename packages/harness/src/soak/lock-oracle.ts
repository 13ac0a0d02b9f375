import type { SimScheduler } from '@syncap/sim';
import type { SoakRig } from './soak-rig.js';

export interface LockOracleOptions {
  /** Cameras per host that must be phase-locked. */
  readonly cameras: number;
  /** A host's rig clock counts as synchronized while its PTP offset is within this, ns. */
  readonly ptpLockedNs: number;
  /** Clock faults void lock claims for this long: a node notices a step at its next clock sample, ns. */
  readonly clockGraceNs: number;
}

/** What a complete global group says about the rig's claim to be locked. */
export type LockVerdict =
  /** The rig does not claim lock: nothing to check. */
  | { readonly kind: 'unlocked' }
  /** The rig claims lock, but the group's frames were exposed before the claim (or a clock fault's grace) began. */
  | { readonly kind: 'claim-too-young' }
  /** The group counts against the claim. */
  | { readonly kind: 'checked' };

/**
 * What the rig says of itself, and since when: locked while every node is up, connected,
 * PTP-synchronized (not in holdover) and has every camera phase-locked. The oracle of the
 * "spans within tolerance while locked" invariant decides which groups the claim covers.
 */
export class LockOracle {
  private lockedSinceNs: bigint | undefined;
  private lastClockFaultNs = -1n;

  constructor(
    private readonly rig: SoakRig,
    private readonly scheduler: SimScheduler,
    private readonly options: LockOracleOptions,
  ) {}

  /** Something happened that voids the claim (a fault, a restart, a clock step): lock must be shown again. */
  invalidate(): void {
    this.lockedSinceNs = undefined;
  }

  /** A clock fault lands at `atNs`: groups exposed within the grace after it are not held to the claim. */
  noteClockFault(atNs: bigint): void {
    this.lastClockFaultNs = atNs;
  }

  /** Undefined when the rig claims lock; else why it does not. */
  notLockedBecause(): string | undefined {
    const now = this.scheduler.nowNs;
    if (!this.rig.serverUp) return 'the server is down';
    for (const h of this.rig.hosts) {
      const p = h.process;
      if (!p) return `${h.nodeId} is not running`;
      if (!p.client.stats().connected) return `${h.nodeId} is not connected`;
      if (h.machine.rig.inHoldover(now)) return `${h.nodeId} has no PTP (holdover)`;
      const offset = h.machine.rig.residualAt(now);
      if (Math.abs(offset) > this.options.ptpLockedNs) return `${h.nodeId} PTP offset is ${Math.round(offset)} ns`;
      const locked = p.node.lockedCameras;
      if (locked.length !== this.options.cameras) {
        const errors = p.node.phaseErrors();
        const unlocked = p.cameras
          .filter((c) => !locked.includes(c.id))
          .map((c) => `${c.id} (phase error ${errors[c.id] === undefined ? '?' : Math.round(errors[c.id]!)} ns)`);
        return `${h.nodeId} cameras not phase-locked: ${unlocked.join(', ')}`;
      }
    }
    return undefined;
  }

  /** Whether the claim covers a complete group whose earliest true exposure is `earliestTruthNs`. */
  judge(earliestTruthNs: bigint): LockVerdict {
    if (this.notLockedBecause() !== undefined) {
      this.lockedSinceNs = undefined;
      return { kind: 'unlocked' };
    }
    this.lockedSinceNs ??= this.scheduler.nowNs;
    // The claim covers groups exposed after it began, and after the grace of the last clock fault.
    const graceEnd = this.lastClockFaultNs + BigInt(this.options.clockGraceNs);
    const claimFrom = this.lockedSinceNs > graceEnd ? this.lockedSinceNs : graceEnd;
    return earliestTruthNs < claimFrom ? { kind: 'claim-too-young' } : { kind: 'checked' };
  }
}
