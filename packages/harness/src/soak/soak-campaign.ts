import { type FrameGroup, NS_PER_S } from '@syncap/core';
import { globalCameraId } from '@syncap/net';
import { FAULT_KINDS, type Fault, type FaultKind, SeededRandom, SimScheduler } from '@syncap/sim';
import { type RigSpec, rigSpec } from '../rig-spec.js';
import { SoakEventLog } from './event-log.js';
import { FaultDriver } from './fault-driver.js';
import { FrameLedger, type LossCause } from './frame-ledger.js';
import { LockOracle } from './lock-oracle.js';
import { RecoveryTracker } from './recovery-tracker.js';
import { SoakInvariants } from './soak-invariants.js';
import { type SoakHost, SoakRig } from './soak-rig.js';
import { type SoakProgress, type SoakSummary, summarizeRecoveries } from './soak-summary.js';

export interface SoakOptions {
  /** The rig (hosts, cameras, fps, seed; clocks and phase-lock tolerance default as everywhere). */
  readonly spec: Partial<RigSpec>;
  /** Virtual hours to run. */
  readonly hours: number;
  /** Mean virtual time between faults, s. Default 120. */
  readonly faultEveryS?: number;
  /** Kinds of fault to inject. Default: all. */
  readonly faultKinds?: readonly FaultKind[];
  /** Heap in use after a full GC, bytes (the CLI passes one when run with --expose-gc). */
  readonly measureHeap?: () => number;
  /** Every event of the run, as it happens (JSON Lines material). */
  readonly onEvent?: (line: string) => void;
  /** Progress, once per virtual hour. */
  readonly onHour?: (hour: number, summary: SoakProgress) => void;
  /** Recovery bound after a fault, before the time a clock error takes to slew out, s. Default 30. */
  readonly recoveryBoundS?: number;
  /** Stop at the first violation (default: record it and go on). */
  readonly stopOnViolation?: boolean;
}

const S = BigInt(NS_PER_S);
/** A frame must be grouped or counted lost within this after capture (or after a disruption of its path ends). */
const RESOLVE_WITHIN_NS = 30 * NS_PER_S;
/** Clock faults void lock claims for this long: a node notices a step at its next clock sample. */
const CLOCK_GRACE_NS = 2 * NS_PER_S;
/** A host's rig clock counts as synchronized while its PTP offset is within this, ns. */
const PTP_LOCKED_NS = 50_000;
/** The largest frequency correction the simulated servo makes (an adjtimex-like limit), ppb. */
const SLEW_PPB = 500_000;
/** Recovery bound after a fault ends, s, before what the fault itself makes slow (a slewed step, a backoff). */
const RECOVERY_BASE_S = 30;

/**
 * A soak campaign: the whole rig (a SyncServer, N nodes with M cameras each, PTP, the
 * sync network) on virtual time, with faults drawn from the seed, checked continuously
 * against the invariants. One seed determines the run, faults included: replaying it
 * gives the same events in the same order (compare `eventsDigest`).
 *
 * The parts: SoakRig (the rig and what each fault does to it), FaultDriver (the plan and
 * its schedule), FrameLedger (every frame's fate), LockOracle (when the rig claims lock),
 * RecoveryTracker, SoakInvariants, SoakEventLog; this function wires them and runs.
 */
export async function runSoak(options: SoakOptions): Promise<SoakSummary> {
  const wallStart = performance.now();
  const spec = rigSpec(options.spec);
  const { fps } = spec;
  const periodNs = NS_PER_S / fps;
  const skewToleranceNs = 2 * spec.phaseToleranceNs + PTP_LOCKED_NS;
  const scheduler = new SimScheduler(0n);
  const random = new SeededRandom(spec.seed);
  const startNs = 0n;
  const ptpSettledNs = startNs + 3n * S;
  const endNs = startNs + BigInt(Math.round(options.hours * 3600)) * S;

  const log = new SoakEventLog(() => scheduler.nowNs, options.onEvent);
  const invariants = new SoakInvariants(
    () => Number(scheduler.nowNs / 1_000_000n) / 1000,
    (invariant, message) => log.log('violation', { invariant, message }),
    options.stopOnViolation,
  );
  const ledger = new FrameLedger({
    resolveWithinNs: RESOLVE_WITHIN_NS,
    rememberNs: 120 * NS_PER_S,
    onViolation: (v) => invariants.violate(v.invariant, v.message),
  });
  const lastGroup = { incarnation: 0, timeNs: 0n };
  const groupCounts = { complete: 0, incomplete: 0, spanChecked: 0, maxLockedSkewNs: 0 };
  // Set once the fault driver exists (the rig's callbacks only fire once the run is under way).
  let driver: FaultDriver | undefined;
  let recoveries: RecoveryTracker | undefined;
  let oracle: LockOracle | undefined;

  const onGlobalGroup = (g: FrameGroup, incarnation: number) => {
    invariants.check('global groups in time order');
    if (lastGroup.incarnation === incarnation && g.timeNs < lastGroup.timeNs) {
      invariants.violate('global groups in time order', `global group at ${g.timeNs} came after one at ${lastGroup.timeNs}`);
    }
    lastGroup.incarnation = incarnation;
    lastGroup.timeNs = g.timeNs;
    invariants.check('no frame in two groups', g.size);
    let min: bigint | undefined;
    let max: bigint | undefined;
    let known = 0;
    for (const [cam, f] of g.frames) {
      const truth = ledger.globallyGrouped(cam, f.rigTimeNs, g.complete, scheduler.nowNs, incarnation);
      if (truth === undefined) continue;
      known++;
      if (min === undefined || truth < min) min = truth;
      if (max === undefined || truth > max) max = truth;
    }
    if (!g.complete) {
      groupCounts.incomplete++;
      return;
    }
    groupCounts.complete++;
    if (min === undefined || max === undefined || known !== g.size) return;
    const skewNs = Number(max - min);
    // The rig claims lock: its groups must be within tolerance, once the claim is older than the frames.
    if (oracle!.judge(min).kind !== 'checked') return;
    groupCounts.spanChecked++;
    invariants.check('spans within tolerance while locked');
    if (skewNs > groupCounts.maxLockedSkewNs) groupCounts.maxLockedSkewNs = skewNs;
    if (skewNs > skewToleranceNs) {
      invariants.violate(
        'spans within tolerance while locked',
        `group at ${g.timeNs} spans ${skewNs} ns of true exposure time (tolerance ${skewToleranceNs} ns) while the rig reports lock`,
      );
      return;
    }
    for (const r of recoveries!.recovered(scheduler.nowNs, driver!.active.size > 0))
      log.log('recovered', { fault: r.faultId, kind: r.kind, afterS: r.recoveryNs / 1e9 });
  };

  const rig: SoakRig = new SoakRig({
    scheduler,
    random,
    spec,
    nodePolicy: { name: 'window', toleranceNs: 1_000_000 },
    onProcess: (host, process) => {
      const node = host.nodeId;
      for (const camera of process.cameras) {
        camera.onTruth((t) => {
          if (!t.delivered) ledger.exposedAndLost(`camera:${t.cause!}` as LossCause);
        });
      }
      // Captured: every frame the node maps to rig time enters the ledger.
      process.node.manager.onEvent((e) => {
        if (e.type === 'discarded')
          ledger.lost(globalCameraId(node, e.frame.cameraId), e.frame.rigTimeNs, `node-discard:${e.reason}`, scheduler.nowNs, rig.serverIncarnation);
        else if (e.type === 'group-dropped')
          for (const f of e.frames) ledger.lost(globalCameraId(node, f.cameraId), f.rigTimeNs, 'consumer-overflow', scheduler.nowNs, rig.serverIncarnation);
      });
      process.client.onEvent((e) => {
        if (e.type === 'backlog-dropped')
          for (const [cam, f] of Object.entries(e.report.frames))
            ledger.lost(globalCameraId(node, cam), BigInt(f.t), 'backlog-overflow', scheduler.nowNs, rig.serverIncarnation);
        else if (e.type === 'connected' || e.type === 'disconnected') log.log(`client-${e.type}`, { node });
      });
      process.node.onEvent((e) => {
        if (e.type === 'restart' || e.type === 'clock-step' || e.type === 'camera-lost') oracle!.invalidate();
        if (e.type === 'command') return;
        log.log(`node-${e.type}`, { node, ...('cameraId' in e ? { camera: e.cameraId } : {}) });
      });
    },
    onMapped: (host, raw, mapped) => {
      ledger.captured(host.nodeId, globalCameraId(host.nodeId, raw.cameraId), mapped.rigTimeNs, raw.truthNs!, scheduler.nowNs);
    },
    onGroup: (host, group) => {
      for (const f of group.frames.values()) ledger.locallyGrouped(globalCameraId(host.nodeId, f.cameraId), f.rigTimeNs);
      return slowConsumer(host, group, periodNs);
    },
    onServerEvent: (e, incarnation) => {
      if (e.type === 'discarded') {
        ledger.lost(e.cameraId, e.rigTimeNs, `server-discard:${e.reason}`, scheduler.nowNs, incarnation);
        return;
      }
      if (e.type === 'node-connected' || e.type === 'node-disconnected') log.log(`server-${e.type}`, { node: e.nodeId });
      if (e.type === 'global-group') onGlobalGroup(e.group, incarnation);
    },
  });
  oracle = new LockOracle(rig, scheduler, { cameras: spec.cameras, ptpLockedNs: PTP_LOCKED_NS, clockGraceNs: CLOCK_GRACE_NS });

  const faultDriver = new FaultDriver({
    scheduler,
    random,
    rig,
    ledger,
    oracle,
    log,
    fromNs: ptpSettledNs + 30n * S,
    untilNs: endNs - 120n * S,
    cameras: spec.cameras,
    meanGapS: options.faultEveryS ?? 120,
    kinds: options.faultKinds ?? FAULT_KINDS,
    resolveWithinNs: RESOLVE_WITHIN_NS,
  });
  driver = faultDriver;
  const recoveryBoundNs = (f: Fault) => {
    // Under linuxptp's default step_threshold (0) the error is slewed out at the servo's limit.
    const slewS = Math.abs(faultDriver.clockErrorAtEnd.get(f.id) ?? (f.kind === 'clock-step' ? (f.magnitude ?? 0) : 0)) / SLEW_PPB;
    return ((options.recoveryBoundS ?? RECOVERY_BASE_S) + slewS) * NS_PER_S;
  };
  recoveries = new RecoveryTracker(recoveryBoundNs);
  faultDriver.schedule(recoveries);

  // Nodes come up once PTP has settled, each at its own moment.
  for (const h of rig.hosts) {
    scheduler.at(ptpSettledNs + BigInt(Math.round(random.fork(`start${h.index}`).uniform(0, NS_PER_S))), () => void rig.startProcess(h));
  }

  const heapMiBByHour: number[] = [];
  let nextHourNs = 3600n * S;
  for (let t = startNs + S; t <= endNs && !invariants.stopped; t += S) {
    await scheduler.runUntilAsync(t);
    const now = scheduler.nowNs;
    ledger.sweep(now, (node) => faultDriver.disruptedUntil(node), rig.serverIncarnation);
    invariants.check('every frame grouped or counted lost');
    invariants.check('recovery to lock within bound');
    const late = recoveries.overdue(now, faultDriver.active.size > 0);
    if (late) {
      const names = late.faults.map((f) => `${f.kind} #${f.id}`).join(', ');
      invariants.violate(
        'recovery to lock within bound',
        `no locked, in-tolerance global group ${(late.waitedNs / 1e9).toFixed(1)} s after ${names} ended (bound ${(late.boundNs / 1e9).toFixed(1)} s): ${oracle.notLockedBecause() ?? 'locked, but no complete group within tolerance'}`,
      );
    }
    if (now % (60n * S) === 0n) checkQueues(invariants, rig, ledger, scheduler, spec);
    if (now >= nextHourNs) {
      const hour = Number(nextHourNs / (3600n * S));
      nextHourNs += 3600n * S;
      const heap = options.measureHeap?.();
      if (heap !== undefined) {
        heapMiBByHour.push(Math.round((heap / 2 ** 20) * 10) / 10);
        invariants.checkHeap(heapMiBByHour);
      }
      log.log('hour', { hour, exposed: ledger.outcomes.exposed, inFlight: ledger.inFlight });
      options.onHour?.(hour, {
        faults: Object.values(faultDriver.injected).reduce((a, b) => a + (b ?? 0), 0),
        violations: invariants.violations.length,
        framesExposed: ledger.outcomes.exposed,
        heapMiB: heapMiBByHour.at(-1),
      });
    }
  }

  const recoverySummary = summarizeRecoveries(recoveries, faultDriver.faults, recoveryBoundNs);
  log.log('end', { digestOf: log.count });
  return {
    seed: spec.seed,
    hours: options.hours,
    hosts: spec.hosts,
    cameras: spec.cameras,
    fps,
    ok: invariants.ok,
    faultsInjected: faultDriver.injected,
    recoveries: recoverySummary,
    recoveriesJoint: recoveries.joint,
    frames: {
      exposed: ledger.outcomes.exposed,
      grouped: ledger.outcomes.grouped,
      inIncompleteGroups: ledger.outcomes.inIncompleteGroups,
      inFlightAtEnd: ledger.inFlight,
      lostByCause: ledger.outcomes.lost,
      regroupedAfterServerRestart: ledger.outcomes.regroupedAfterServerRestart,
    },
    globalGroups: groupCounts,
    invariants: invariants.counts,
    violations: invariants.violations,
    queues: invariants.queues,
    ...(heapMiBByHour.length > 0 ? { heapMiBByHour } : {}),
    events: log.count,
    eventsDigest: log.digestHex(),
    wallSeconds: Math.round((performance.now() - wallStart) / 100) / 10,
    ...(invariants.violations.length > 0 ? { lastEvents: log.recent } : {}),
  };
}

/** The application under a slow-consumer fault: each group takes `factor` frame periods to process. */
function slowConsumer(host: SoakHost, group: FrameGroup, periodNs: number): void | Promise<void> {
  const factor = host.slowConsumerFactor;
  if (!factor) {
    group.release();
    return;
  }
  const timers = host.timers!;
  return new Promise<void>((resolve) => {
    timers.setTimeout(
      () => {
        group.release();
        resolve();
      },
      (factor * periodNs) / 1e6,
    );
  });
}

/** Every queue the rig has, against its bound. */
function checkQueues(invariants: SoakInvariants, rig: SoakRig, ledger: FrameLedger, scheduler: SimScheduler, spec: RigSpec): void {
  const perSecond = spec.hosts * spec.cameras * spec.fps;
  invariants.noteQueue('frames in flight (ledger)', ledger.inFlight, perSecond * 120);
  invariants.noteQueue('scheduled tasks', scheduler.pendingTasks, 10_000 + perSecond * 10);
  for (const h of rig.hosts) {
    const p = h.process;
    invariants.noteQueue('network messages held by a partition', h.network.heldMessages, 100_000);
    if (!p) continue;
    invariants.noteQueue('node group queue', p.node.manager.queuedGroups, p.node.manager.queueCapacity);
    invariants.noteQueue('client backlog (reports)', p.client.stats().backlog, 10_000);
    invariants.noteQueue('process timers', h.timers?.size ?? 0, 1000);
  }
}
