import { createHash } from 'node:crypto';
import { NS_PER_S } from '@syncap/core';
import { FAULT_KINDS, type Fault, type FaultKind, planFaults, SeededRandom, SimScheduler } from '@syncap/sim';
import { FrameLedger, type LossCause } from './frame-ledger.js';
import { RecoveryTracker } from './recovery-tracker.js';
import { type SoakHost, SoakRig } from './soak-rig.js';

export interface SoakOptions {
  readonly seed: number;
  /** Virtual hours to run. */
  readonly hours: number;
  readonly hosts: number;
  readonly cameras: number;
  /** Default 30. */
  readonly fps?: number;
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

export interface SoakProgress {
  readonly faults: number;
  readonly violations: number;
  readonly framesExposed: number;
  readonly heapMiB?: number;
}

export interface SoakViolation {
  readonly atS: number;
  readonly invariant: string;
  readonly message: string;
}

export interface SoakSummary {
  readonly seed: number;
  readonly hours: number;
  readonly hosts: number;
  readonly cameras: number;
  readonly fps: number;
  readonly ok: boolean;
  readonly faultsInjected: Partial<Record<FaultKind, number>>;
  /** Recovery times per fault kind, s: count, p50, max, and the largest bound one was held to. */
  readonly recoveries: Partial<Record<FaultKind, { count: number; p50S: number; maxS: number; boundS: number }>>;
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
const MAX_VIOLATIONS_KEPT = 50;

/** Fault kinds that delay a host's reports to the server (the frame deadline runs from their end). */
const PATH_FAULTS: ReadonlySet<FaultKind> = new Set(['partition', 'message-loss', 'node-crash', 'server-restart', 'slow-consumer']);
const FOREVER = 1n << 62n;

/**
 * A soak campaign: the whole rig (a SyncServer, N nodes with M cameras each, PTP, the
 * sync network) on virtual time, with faults drawn from the seed, checked continuously
 * against the invariants. One seed determines the run, faults included: replaying it
 * gives the same events in the same order (compare `eventsDigest`).
 */
export async function runSoak(options: SoakOptions): Promise<SoakSummary> {
  const wallStart = performance.now();
  const fps = options.fps ?? 30;
  const periodNs = NS_PER_S / fps;
  const phaseToleranceNs = 100_000;
  const skewToleranceNs = 2 * phaseToleranceNs + PTP_LOCKED_NS;
  const scheduler = new SimScheduler(0n);
  const random = new SeededRandom(options.seed);
  const startNs = 0n;
  const ptpSettledNs = startNs + 3n * S;
  const faultsFromNs = ptpSettledNs + 30n * S;
  const endNs = startNs + BigInt(Math.round(options.hours * 3600)) * S;

  const digest = createHash('sha256');
  let eventCount = 0;
  const recent: string[] = [];
  const log = (type: string, fields: Record<string, unknown> = {}) => {
    const line = JSON.stringify({ t: Number(scheduler.nowNs / 1000n) / 1e6, type, ...fields }, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
    digest.update(line);
    digest.update('\n');
    eventCount++;
    recent.push(line);
    if (recent.length > 20) recent.shift();
    options.onEvent?.(line);
  };

  const violations: SoakViolation[] = [];
  const invariants: SoakSummary['invariants'] = {
    'no frame in two groups': { checks: 0, violations: 0 },
    'global groups in time order': { checks: 0, violations: 0 },
    'every frame grouped or counted lost': { checks: 0, violations: 0 },
    'spans within tolerance while locked': { checks: 0, violations: 0 },
    'recovery to lock within bound': { checks: 0, violations: 0 },
    'queues bounded': { checks: 0, violations: 0 },
    'heap bounded': { checks: 0, violations: 0 },
  };
  let stop = false;
  const violate = (invariant: string, message: string) => {
    const count = ++invariants[invariant]!.violations;
    if (violations.length < MAX_VIOLATIONS_KEPT) violations.push({ atS: Number(scheduler.nowNs / 1_000_000n) / 1000, invariant, message });
    // The log keeps the first few of each kind; the counts keep them all.
    if (count <= MAX_VIOLATIONS_KEPT) log('violation', { invariant, message });
    if (options.stopOnViolation) stop = true;
  };

  const ledger = new FrameLedger({
    resolveWithinNs: RESOLVE_WITHIN_NS,
    rememberNs: 120 * NS_PER_S,
    onViolation: (v) => violate(v.invariant, v.message),
  });
  // Clock error a fault leaves behind (a step, or what holdover accumulated), ns.
  const clockErrorAtEnd = new Map<number, number>();
  const recoveryBoundNs = (f: Fault) => {
    // Under linuxptp's default step_threshold (0) the error is slewed out at the servo's limit.
    const slewS = Math.abs(clockErrorAtEnd.get(f.id) ?? (f.kind === 'clock-step' ? (f.magnitude ?? 0) : 0)) / SLEW_PPB;
    return ((options.recoveryBoundS ?? RECOVERY_BASE_S) + slewS) * NS_PER_S;
  };
  const recoveries = new RecoveryTracker(recoveryBoundNs);

  // Faults in progress, and when each host's report path was last disrupted.
  const active = new Map<number, Fault>();
  // Per node: path faults in progress, and when the last one ended.
  const pathDisruption = new Map<string, { active: number; lastEndNs: bigint }>();
  const disruptedUntil = (node: string): bigint => {
    const d = pathDisruption.get(node);
    return d === undefined ? -1n : d.active > 0 ? FOREVER : d.lastEndNs;
  };
  let lastClockFaultNs = -1n;
  let lockedSinceNs: bigint | undefined;
  const lastGroup = { incarnation: 0, timeNs: 0n };
  const groupCounts = { complete: 0, incomplete: 0, spanChecked: 0, maxLockedSkewNs: 0 };
  const queues: SoakSummary['queues'] = {};
  const noteQueue = (name: string, level: number, bound: number) => {
    const q = queues[name] ?? { max: 0, bound };
    queues[name] = q;
    if (level > q.max) q.max = level;
    invariants['queues bounded']!.checks++;
    if (level > bound) violate('queues bounded', `${name} holds ${level}, over its bound ${bound}`);
  };

  const rig: SoakRig = new SoakRig({
    scheduler,
    random,
    hosts: options.hosts,
    cameras: options.cameras,
    fps,
    ptpNoiseNs: 1000,
    ppm: 20,
    phaseToleranceNs,
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
          ledger.lost(`${node}/${e.frame.cameraId}`, e.frame.rigTimeNs, `node-discard:${e.reason}`, scheduler.nowNs, rig.serverIncarnation);
        else if (e.type === 'group-dropped')
          for (const f of e.frames) ledger.lost(`${node}/${f.cameraId}`, f.rigTimeNs, 'consumer-overflow', scheduler.nowNs, rig.serverIncarnation);
      });
      process.client.onEvent((e) => {
        if (e.type === 'backlog-dropped')
          for (const [cam, f] of Object.entries(e.report.frames))
            ledger.lost(`${node}/${cam}`, BigInt(f.t), 'backlog-overflow', scheduler.nowNs, rig.serverIncarnation);
        else if (e.type === 'connected' || e.type === 'disconnected') log(`client-${e.type}`, { node });
      });
      process.node.onEvent((e) => {
        if (e.type === 'restart' || e.type === 'clock-step' || e.type === 'camera-lost') lockedSinceNs = undefined;
        if (e.type === 'command') return;
        log(`node-${e.type}`, { node, ...('cameraId' in e ? { camera: e.cameraId } : {}) });
      });
    },
    onMapped: (host, raw, mapped) => {
      ledger.captured(host.nodeId, `${host.nodeId}/${raw.cameraId}`, mapped.rigTimeNs, raw.truthNs!, scheduler.nowNs);
    },
    onGroup: (host, group) => {
      for (const f of group.frames.values()) ledger.locallyGrouped(`${host.nodeId}/${f.cameraId}`, f.rigTimeNs);
      const factor = host.slowConsumerFactor;
      if (!factor) {
        group.release();
        return;
      }
      // A slow application: each group takes `factor` frame periods to process.
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
    },
    onServerEvent: (e, incarnation) => {
      if (e.type === 'discarded') {
        ledger.lost(e.cameraId, e.rigTimeNs, `server-discard:${e.reason}`, scheduler.nowNs, incarnation);
        return;
      }
      if (e.type === 'node-connected' || e.type === 'node-disconnected') log(`server-${e.type}`, { node: e.nodeId });
      if (e.type !== 'global-group') return;
      const g = e.group;
      invariants['global groups in time order']!.checks++;
      if (lastGroup.incarnation === incarnation && g.timeNs < lastGroup.timeNs) {
        violate('global groups in time order', `global group at ${g.timeNs} came after one at ${lastGroup.timeNs}`);
      }
      lastGroup.incarnation = incarnation;
      lastGroup.timeNs = g.timeNs;
      invariants['no frame in two groups']!.checks += g.size;
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
      const locked = rigLocked();
      if (!locked) {
        lockedSinceNs = undefined;
        return;
      }
      lockedSinceNs ??= scheduler.nowNs;
      // The rig claims lock: its groups must be within tolerance, once the claim is older than the frames.
      const claimFrom = lockedSinceNs > lastClockFaultNs + BigInt(CLOCK_GRACE_NS) ? lockedSinceNs : lastClockFaultNs + BigInt(CLOCK_GRACE_NS);
      if (min < claimFrom) return;
      groupCounts.spanChecked++;
      invariants['spans within tolerance while locked']!.checks++;
      if (skewNs > groupCounts.maxLockedSkewNs) groupCounts.maxLockedSkewNs = skewNs;
      if (skewNs > skewToleranceNs) {
        violate(
          'spans within tolerance while locked',
          `group at ${g.timeNs} spans ${skewNs} ns of true exposure time (tolerance ${skewToleranceNs} ns) while the rig reports lock`,
        );
        return;
      }
      for (const r of recoveries.recovered(scheduler.nowNs, active.size > 0)) log('recovered', { fault: r.faultId, kind: r.kind, afterS: r.recoveryNs / 1e9 });
    },
  });

  /** What the rig says of itself: every node up, connected, PTP-synchronized and phase-locked. Undefined when locked, else why not. */
  const notLockedBecause = (): string | undefined => {
    if (!rig.serverUp) return 'the server is down';
    for (const h of rig.hosts) {
      const p = h.process;
      if (!p) return `${h.nodeId} is not running`;
      if (!p.client.stats().connected) return `${h.nodeId} is not connected`;
      if (h.machine.rig.inHoldover(scheduler.nowNs)) return `${h.nodeId} has no PTP (holdover)`;
      const offset = h.machine.rig.residualAt(scheduler.nowNs);
      if (Math.abs(offset) > PTP_LOCKED_NS) return `${h.nodeId} PTP offset is ${Math.round(offset)} ns`;
      const locked = p.node.lockedCameras;
      if (locked.length !== options.cameras) {
        const errors = p.node.phaseErrors();
        const unlocked = p.cameras
          .filter((c) => !locked.includes(c.id))
          .map((c) => `${c.id} (phase error ${errors[c.id] === undefined ? '?' : Math.round(errors[c.id]!)} ns)`);
        return `${h.nodeId} cameras not phase-locked: ${unlocked.join(', ')}`;
      }
    }
    return undefined;
  };
  const rigLocked = () => notLockedBecause() === undefined;

  // Faults, drawn from the seed.
  const faults = planFaults(random.fork('faults'), {
    startNs: faultsFromNs,
    endNs: endNs - 120n * S,
    hosts: options.hosts,
    cameras: options.cameras,
    meanGapNs: (options.faultEveryS ?? 120) * NS_PER_S,
    kinds: options.faultKinds ?? FAULT_KINDS,
  });
  const injected: Partial<Record<FaultKind, number>> = {};
  const hostOf = (f: Fault): SoakHost => rig.hosts[f.host!]!;
  const disruptPath = (f: Fault, starts: boolean) => {
    if (!PATH_FAULTS.has(f.kind)) return;
    for (const h of f.host === undefined ? rig.hosts : [hostOf(f)]) {
      const d = pathDisruption.get(h.nodeId) ?? { active: 0, lastEndNs: -1n };
      if (starts) d.active++;
      else {
        d.active--;
        d.lastEndNs = scheduler.nowNs;
      }
      pathDisruption.set(h.nodeId, d);
    }
  };
  const begin = (f: Fault) => {
    injected[f.kind] = (injected[f.kind] ?? 0) + 1;
    lockedSinceNs = undefined;
    active.set(f.id, f);
    disruptPath(f, true);
    log('fault-start', { fault: f.id, kind: f.kind, host: f.host, camera: f.camera, magnitude: f.magnitude, durationS: f.durationNs / 1e9 });
    // What a crash takes with it is the crash's loss (the harness knows; the dead process cannot say).
    if (f.kind === 'node-crash') ledger.nodeCrashed(hostOf(f).nodeId, scheduler.nowNs, 5 * NS_PER_S, rig.serverIncarnation);
    if (f.kind === 'server-restart') ledger.serverCrashed(scheduler.nowNs, f.durationNs + RESOLVE_WITHIN_NS);
    if (f.kind === 'clock-step') lastClockFaultNs = scheduler.nowNs + S; // the step lands at the servo's next update
    rig.beginFault(f);
  };
  const end = async (f: Fault) => {
    active.delete(f.id);
    disruptPath(f, false);
    log('fault-end', { fault: f.id, kind: f.kind });
    if (f.kind === 'ptp-loss') {
      lastClockFaultNs = scheduler.nowNs;
      // Holdover keeps the servo's last correction, kick included: the error it drifted to must be slewed out.
      clockErrorAtEnd.set(f.id, hostOf(f).machine.rig.residualAt(scheduler.nowNs));
    }
    await rig.endFault(f);
    recoveries.faultEnded(f, scheduler.nowNs, active.size > 0);
  };
  const actions: Array<{ atNs: bigint; run: () => Promise<void> }> = [];
  for (const f of faults) {
    actions.push({ atNs: f.atNs, run: async () => begin(f) });
    actions.push({ atNs: f.atNs + BigInt(f.durationNs), run: () => end(f) });
  }
  actions.sort((a, b) => (a.atNs < b.atNs ? -1 : a.atNs > b.atNs ? 1 : 0));
  for (const a of actions) scheduler.at(a.atNs, () => void a.run());

  // Nodes come up once PTP has settled, each at its own moment.
  for (const h of rig.hosts) {
    scheduler.at(ptpSettledNs + BigInt(Math.round(random.fork(`start${h.index}`).uniform(0, NS_PER_S))), () => void rig.startProcess(h));
  }

  const heapMiBByHour: number[] = [];
  const checkEveryNs = S;
  let nextHourNs = 3600n * S;
  for (let t = startNs + checkEveryNs; t <= endNs && !stop; t += checkEveryNs) {
    await scheduler.runUntilAsync(t);
    const now = scheduler.nowNs;
    ledger.sweep(now, disruptedUntil, rig.serverIncarnation);
    invariants['every frame grouped or counted lost']!.checks++;
    invariants['recovery to lock within bound']!.checks++;
    const late = recoveries.overdue(now, active.size > 0);
    if (late) {
      const names = late.faults.map((f) => `${f.kind} #${f.id}`).join(', ');
      violate(
        'recovery to lock within bound',
        `no locked, in-tolerance global group ${(late.waitedNs / 1e9).toFixed(1)} s after ${names} ended (bound ${(late.boundNs / 1e9).toFixed(1)} s): ${notLockedBecause() ?? 'locked, but no complete group within tolerance'}`,
      );
    }
    if (now % (60n * S) === 0n) checkQueues();
    if (now >= nextHourNs) {
      const hour = Number(nextHourNs / (3600n * S));
      nextHourNs += 3600n * S;
      const heap = options.measureHeap?.();
      if (heap !== undefined) {
        heapMiBByHour.push(Math.round((heap / 2 ** 20) * 10) / 10);
        checkHeap();
      }
      log('hour', { hour, exposed: ledger.outcomes.exposed, inFlight: ledger.inFlight });
      options.onHour?.(hour, {
        faults: Object.values(injected).reduce((a, b) => a + (b ?? 0), 0),
        violations: violations.length,
        framesExposed: ledger.outcomes.exposed,
        heapMiB: heapMiBByHour.at(-1),
      });
    }
  }

  /** Every hour after the first: the heap must stay within 1.1 × what it was after 1 h (the first hour includes warm-up). */
  function checkHeap(): void {
    if (heapMiBByHour.length < 2) return;
    invariants['heap bounded']!.checks++;
    const first = heapMiBByHour[0]!;
    const now = heapMiBByHour.at(-1)!;
    if (now > first * 1.1) violate('heap bounded', `heap after ${heapMiBByHour.length} h is ${now} MiB, over 1.1 × ${first} MiB after 1 h`);
  }

  function checkQueues(): void {
    const perSecond = options.hosts * options.cameras * fps;
    noteQueue('frames in flight (ledger)', ledger.inFlight, perSecond * 120);
    noteQueue('scheduled tasks', scheduler.pendingTasks, 10_000 + perSecond * 10);
    for (const h of rig.hosts) {
      const p = h.process;
      noteQueue('network messages held by a partition', h.network.heldMessages, 100_000);
      if (!p) continue;
      noteQueue('node group queue', p.node.manager.queuedGroups, p.node.manager.queueCapacity);
      noteQueue('client backlog (reports)', p.client.stats().backlog, 10_000);
      noteQueue('process timers', h.timers?.size ?? 0, 1000);
    }
  }

  // Heap: 24 h must not hold more than 1.1× what 1 h held (the first hour includes warm-up).
  const recoverySummary: SoakSummary['recoveries'] = {};
  for (const [kind, list] of recoveries.byKind) {
    const sorted = [...list].sort((a, b) => a - b);
    const bound = faults.filter((f) => f.kind === kind).reduce((m, f) => Math.max(m, recoveryBoundNs(f)), 0);
    recoverySummary[kind] = {
      count: sorted.length,
      p50S: round3(sorted[Math.floor(sorted.length / 2)]! / 1e9),
      maxS: round3(sorted.at(-1)! / 1e9),
      boundS: round3(bound / 1e9),
    };
  }
  log('end', { digestOf: eventCount });
  return {
    seed: options.seed,
    hours: options.hours,
    hosts: options.hosts,
    cameras: options.cameras,
    fps,
    ok: violations.length === 0 && Object.values(invariants).every((i) => i.violations === 0),
    faultsInjected: injected,
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
    invariants,
    violations,
    queues,
    ...(heapMiBByHour.length > 0 ? { heapMiBByHour } : {}),
    events: eventCount,
    eventsDigest: digest.digest('hex'),
    wallSeconds: Math.round((performance.now() - wallStart) / 100) / 10,
    ...(violations.length > 0 ? { lastEvents: recent } : {}),
  };
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
