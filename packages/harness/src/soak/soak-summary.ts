import type { Fault, FaultKind } from '@syncap/sim';
import type { RecoveryTracker } from './recovery-tracker.js';
import type { SoakViolation } from './soak-invariants.js';

export interface SoakProgress {
  readonly faults: number;
  readonly violations: number;
  readonly framesExposed: number;
  readonly heapMiB?: number;
}

/** What a soak campaign found: the last line `npm run soak` prints. */
export interface SoakSummary {
  readonly seed: number;
  readonly hours: number;
  readonly hosts: number;
  readonly cameras: number;
  readonly fps: number;
  readonly ok: boolean;
  readonly faultsInjected: Partial<Record<FaultKind, number>>;
  /** Recovery times per fault kind, s: count, p50, max, and the largest bound one was held to. */
  readonly recoveries: Partial<Record<FaultKind, RecoveryStats>>;
  /** Faults that recovered jointly with a later one (it began before the rig had recovered). */
  readonly recoveriesJoint: number;
  readonly frames: {
    readonly exposed: number;
    readonly grouped: number;
    readonly inIncompleteGroups: number;
    readonly inFlightAtEnd: number;
    readonly lostByCause: Record<string, number>;
    /** Frames a restarted server processed again after its predecessor had grouped or discarded them (never acknowledged). */
    readonly regroupedAfterServerRestart: number;
  };
  readonly globalGroups: { readonly complete: number; readonly incomplete: number; readonly spanChecked: number; readonly maxLockedSkewNs: number };
  /** What was checked, how often, and how many times it failed. */
  readonly invariants: Record<string, { checks: number; violations: number }>;
  readonly violations: readonly SoakViolation[];
  /** Highest level seen of every queue the rig has, and its bound. */
  readonly queues: Record<string, { max: number; bound: number }>;
  /** Heap after GC at each virtual hour, MiB (absent without --expose-gc). */
  readonly heapMiBByHour?: readonly number[];
  readonly events: number;
  /** sha256 of the event log: the same seed and options give the same digest. */
  readonly eventsDigest: string;
  readonly wallSeconds: number;
  /** The last events before the end, when something was violated. */
  readonly lastEvents?: readonly string[];
}

export interface RecoveryStats {
  readonly count: number;
  readonly p50S: number;
  readonly maxS: number;
  readonly boundS: number;
}

/** Recovery times by kind, from the tracker, with the largest bound any fault of the kind was held to. */
export function summarizeRecoveries(
  recoveries: RecoveryTracker,
  faults: readonly Fault[],
  boundNs: (fault: Fault) => number,
): Partial<Record<FaultKind, RecoveryStats>> {
  const out: Partial<Record<FaultKind, RecoveryStats>> = {};
  for (const [kind, list] of recoveries.byKind) {
    const sorted = [...list].sort((a, b) => a - b);
    const bound = faults.filter((f) => f.kind === kind).reduce((m, f) => Math.max(m, boundNs(f)), 0);
    out[kind] = {
      count: sorted.length,
      p50S: round3(sorted[Math.floor(sorted.length / 2)]! / 1e9),
      maxS: round3(sorted.at(-1)! / 1e9),
      boundS: round3(bound / 1e9),
    };
  }
  return out;
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
