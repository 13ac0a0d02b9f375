import type { Fault, FaultKind } from '@syncap/sim';

export interface Recovery {
  readonly faultId: number;
  readonly kind: FaultKind;
  /** From the end of the fault (of the last of overlapping faults) to the first complete, in-tolerance global group of a locked rig, ns. */
  readonly recoveryNs: number;
}

/**
 * Times recoveries: from the moment a fault ends until the rig is locked again and a
 * complete global group within tolerance comes out. Faults that overlap, or follow one
 * another before the rig recovered, recover together: their clock starts when the last
 * of them ends, and they are held to the largest of their bounds (a clock error left by
 * one must be slewed out whatever came after it). Such recoveries are counted as joint.
 */
export class RecoveryTracker {
  private readonly pending = new Map<number, Fault>();
  private fromNs = 0n;
  private overdueReported = false;
  readonly byKind = new Map<FaultKind, number[]>();
  /** Recoveries that were measured jointly with a later fault's. */
  joint = 0;

  constructor(private readonly boundNs: (fault: Fault) => number) {}

  /**
   * A fault ended (instantaneous faults end when they start). Recovery clocks run only
   * while no fault is active: the last fault to end starts them.
   */
  faultEnded(fault: Fault, nowNs: bigint, othersActive: boolean): void {
    if (this.pending.size > 0) this.joint++;
    this.pending.set(fault.id, fault);
    if (!othersActive) {
      this.fromNs = nowNs;
      this.overdueReported = false;
    }
  }

  /**
   * A complete, in-tolerance global group of a locked rig: every pending recovery is done —
   * once no fault is active (a recovery is timed from the end of the last fault).
   */
  recovered(nowNs: bigint, faultsActive: boolean): Recovery[] {
    const done: Recovery[] = [];
    if (faultsActive) return done;
    const recoveryNs = Number(nowNs - this.fromNs);
    for (const fault of this.pending.values()) {
      done.push({ faultId: fault.id, kind: fault.kind, recoveryNs });
      const list = this.byKind.get(fault.kind) ?? [];
      list.push(recoveryNs);
      this.byKind.set(fault.kind, list);
    }
    this.pending.clear();
    return done;
  }

  /** The pending recoveries, once they are past the largest of their bounds (reported once). */
  overdue(nowNs: bigint, faultsActive: boolean): { faults: Fault[]; waitedNs: number; boundNs: number } | undefined {
    if (faultsActive || this.pending.size === 0 || this.overdueReported) return undefined;
    const faults = [...this.pending.values()];
    const boundNs = Math.max(...faults.map((f) => this.boundNs(f)));
    const waitedNs = Number(nowNs - this.fromNs);
    if (waitedNs <= boundNs) return undefined;
    this.overdueReported = true;
    return { faults, waitedNs, boundNs };
  }
}
