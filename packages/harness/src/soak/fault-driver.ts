import { NS_PER_S } from '@syncap/core';
import { type Fault, type FaultKind, planFaults, type SeededRandom, type SimScheduler } from '@syncap/sim';
import type { SoakEventLog } from './event-log.js';
import type { FrameLedger } from './frame-ledger.js';
import type { LockOracle } from './lock-oracle.js';
import type { RecoveryTracker } from './recovery-tracker.js';
import type { SoakRig } from './soak-rig.js';

export interface FaultDriverOptions {
  readonly scheduler: SimScheduler;
  readonly random: SeededRandom;
  readonly rig: SoakRig;
  readonly ledger: FrameLedger;
  readonly oracle: LockOracle;
  readonly log: SoakEventLog;
  /** Faults start in [fromNs, untilNs). */
  readonly fromNs: bigint;
  readonly untilNs: bigint;
  readonly cameras: number;
  /** Mean virtual time between faults, s. */
  readonly meanGapS: number;
  readonly kinds: readonly FaultKind[];
  /** A frame must be grouped or counted lost within this after capture, ns (what a crashed server may still owe). */
  readonly resolveWithinNs: number;
}

/** Fault kinds that delay a host's reports to the server (the frame deadline runs from their end). */
const PATH_FAULTS: ReadonlySet<FaultKind> = new Set(['partition', 'message-loss', 'node-crash', 'server-restart', 'slow-consumer']);
const FOREVER = 1n << 62n;
const S = BigInt(NS_PER_S);

/**
 * Draws the fault plan from the seed and carries it out on the rig at its instants: what
 * each fault does (through SoakRig), what the oracles must know of it (crashes take frames
 * with them, clock faults void lock claims, path faults delay deadlines), and the log.
 */
export class FaultDriver {
  readonly faults: readonly Fault[];
  /** Faults in progress, by id. */
  readonly active = new Map<number, Fault>();
  /** Faults started, by kind. */
  readonly injected: Partial<Record<FaultKind, number>> = {};
  /** Clock error a fault left behind (what holdover drifted to), ns, by fault id. */
  readonly clockErrorAtEnd = new Map<number, number>();
  /** Per node: path faults in progress, and when the last one ended. */
  private readonly pathDisruption = new Map<string, { active: number; lastEndNs: bigint }>();
  private recoveries: RecoveryTracker | undefined;

  constructor(private readonly o: FaultDriverOptions) {
    this.faults = planFaults(o.random.fork('faults'), {
      startNs: o.fromNs,
      endNs: o.untilNs,
      hosts: o.rig.hosts.length,
      cameras: o.cameras,
      meanGapNs: o.meanGapS * NS_PER_S,
      kinds: o.kinds,
    });
  }

  /** Schedules every fault's start and end on the scheduler; ends are reported to `recoveries`. */
  schedule(recoveries: RecoveryTracker): void {
    this.recoveries = recoveries;
    const actions: Array<{ atNs: bigint; run: () => Promise<void> }> = [];
    for (const f of this.faults) {
      actions.push({ atNs: f.atNs, run: async () => this.begin(f) });
      actions.push({ atNs: f.atNs + BigInt(f.durationNs), run: () => this.end(f) });
    }
    actions.sort((a, b) => (a.atNs < b.atNs ? -1 : a.atNs > b.atNs ? 1 : 0));
    for (const a of actions) this.o.scheduler.at(a.atNs, () => void a.run());
  }

  /** Until when a node's report path counts as disrupted (FOREVER while a path fault lasts; -1 if never). */
  disruptedUntil(node: string): bigint {
    const d = this.pathDisruption.get(node);
    return d === undefined ? -1n : d.active > 0 ? FOREVER : d.lastEndNs;
  }

  private begin(f: Fault): void {
    const { ledger, oracle, rig, scheduler, log } = this.o;
    this.injected[f.kind] = (this.injected[f.kind] ?? 0) + 1;
    oracle.invalidate();
    this.active.set(f.id, f);
    this.disruptPath(f, true);
    log.log('fault-start', { fault: f.id, kind: f.kind, host: f.host, camera: f.camera, magnitude: f.magnitude, durationS: f.durationNs / 1e9 });
    // What a crash takes with it is the crash's loss (the harness knows; the dead process cannot say).
    if (f.kind === 'node-crash') ledger.nodeCrashed(rig.hosts[f.host!]!.nodeId, scheduler.nowNs, 5 * NS_PER_S, rig.serverIncarnation);
    if (f.kind === 'server-restart') ledger.serverCrashed(scheduler.nowNs, f.durationNs + this.o.resolveWithinNs);
    if (f.kind === 'clock-step') oracle.noteClockFault(scheduler.nowNs + S); // the step lands at the servo's next update
    rig.beginFault(f);
  }

  private async end(f: Fault): Promise<void> {
    const { oracle, rig, scheduler, log } = this.o;
    this.active.delete(f.id);
    this.disruptPath(f, false);
    log.log('fault-end', { fault: f.id, kind: f.kind });
    if (f.kind === 'ptp-loss') {
      oracle.noteClockFault(scheduler.nowNs);
      // Holdover keeps the servo's last correction, kick included: the error it drifted to must be slewed out.
      this.clockErrorAtEnd.set(f.id, rig.hosts[f.host!]!.machine.rig.residualAt(scheduler.nowNs));
    }
    await rig.endFault(f);
    this.recoveries?.faultEnded(f, scheduler.nowNs, this.active.size > 0);
  }

  private disruptPath(f: Fault, starts: boolean): void {
    if (!PATH_FAULTS.has(f.kind)) return;
    for (const h of f.host === undefined ? this.o.rig.hosts : [this.o.rig.hosts[f.host]!]) {
      const d = this.pathDisruption.get(h.nodeId) ?? { active: 0, lastEndNs: -1n };
      if (starts) d.active++;
      else {
        d.active--;
        d.lastEndNs = this.o.scheduler.nowNs;
      }
      this.pathDisruption.set(h.nodeId, d);
    }
  }
}
