import { type FrameGroup, NS_PER_MS, NS_PER_S, phaseOfNs } from '@syncap/core';
import { type MessageConnection, memoryConnectionPair, type SyncNode, SyncServer, splitGlobalCameraId } from '@syncap/net';
import { type PtpServoSim, SeededRandom, type SimCamera, SimNetwork, SimScheduler } from '@syncap/sim';
import { build } from 'hdr-histogram-js';
import { type RigSpec, rigSpec } from './rig-spec.js';
import { createSimHost, type SimHost } from './sim-host.js';

/** A rig to simulate (any RigSpec field; the rest default) and for how long. */
export type RigSimulationOptions = Partial<RigSpec> & {
  /** Virtual seconds to run. */
  readonly durationS: number;
};

export interface RigSimulationSummary {
  readonly seed: number;
  readonly hosts: number;
  readonly cameras: number;
  readonly fps: number;
  readonly durationS: number;
  readonly groups: number;
  readonly incompleteGroups: number;
  readonly drops: number;
  /** Ground-truth exposure skew within complete global groups after lock, ns. */
  readonly trueSkewP50Ns: number;
  readonly trueSkewP99Ns: number;
  readonly trueSkewMaxNs: number;
  /** The p99 skew the injected clock noise alone implies (spread of the hosts' PTP residuals at each group), ns. */
  readonly floorP99Ns: number;
  /** Span the server saw (reported timestamps), p99 after lock, ns. */
  readonly reportedSpanP99Ns: number;
  /** Virtual time until every camera was first phase-locked, ms (0 without phase lock). */
  readonly lockTimeMs: number;
  readonly restarts: number;
  readonly measuredGroups: number;
  /** Diagnostics after lock: |node's rig estimate − the host's real rig clock| p99, ns. */
  readonly mappingErrorP99Ns: number;
  /** |phase of the real rig time of each exposure against the grid| p99, ns. */
  readonly lockErrorP99Ns: number;
}

/** Measurement starts this long after every camera first locked: the loop's integral settles over tens of frames. */
function settleAfterLockNs(fps: number): number {
  return Math.max(2000 * NS_PER_MS, (60 * NS_PER_S) / fps);
}

/**
 * A whole rig on virtual time: one SyncServer, N hosts each with a drifting
 * oscillator, a PTP-disciplined rig clock (PI servo over noisy measurements), M
 * simulated cameras and a SyncNode/SyncClient over a simulated network. The real
 * server, client and node code runs unchanged. Returns ground-truth skew statistics.
 */
export async function runRigSimulation(options: RigSimulationOptions): Promise<RigSimulationSummary> {
  const spec = rigSpec(options);
  const scheduler = new SimScheduler(0n);
  const random = new SeededRandom(spec.seed);
  const server = new SyncServer({
    token: 'sim',
    clock: scheduler.clock,
    timers: scheduler.timers,
    // Minimal-span sets (ApproximateTime) so unlocked rigs still form groups and show their skew.
    policy: { name: 'approximate', queueSize: 30 },
    phaseToleranceNs: spec.phaseToleranceNs,
  });

  const residualOf = new Map<string, PtpServoSim>();
  const mappingError = build({ numberOfSignificantValueDigits: 3 });
  const lockError = build({ numberOfSignificantValueDigits: 3 });
  const nodes: SyncNode[] = [];
  const cameras: SimCamera[] = [];
  const truthByFrame = new Map<string, bigint>();
  let lockedAtNs: bigint | undefined;
  let restarts = 0;
  const totalCameras = spec.hosts * spec.cameras;
  const locked = new Set<string>();

  for (let h = 0; h < spec.hosts; h++) {
    const network = new SimNetwork(scheduler, random.fork(`host${h}`).fork('net'), { lossRate: spec.netLoss });
    let host: SimHost | undefined;
    host = createSimHost({
      scheduler,
      random,
      index: h,
      spec,
      token: 'sim',
      connect: async () => {
        const [nodeSide, serverSide] = memoryConnectionPair([`host${h}`, 'server'], network.deliverer());
        server.accept(serverSide as MessageConnection);
        return nodeSide;
      },
      onMapped: (raw, mapped) => {
        // Ground truth keyed by what the server will see: node/camera and the reported instant.
        truthByFrame.set(`host${h}/${raw.cameraId}@${mapped.rigTimeNs}`, raw.truthNs!);
        if (host && lockedAtNs !== undefined && scheduler.nowNs > lockedAtNs + BigInt(Math.round(settleAfterLockNs(spec.fps)))) {
          // Where the error comes from: the node's rig estimate vs the real rig clock, and the real rig phase vs the grid.
          const actualRig = host.rig.hostFromTrue(raw.truthNs!);
          const correction = BigInt(Math.round(raw.exposureCorrectionNs ?? 0));
          mappingError.recordValue(Math.abs(Number(mapped.rigTimeNs - correction - host.rig.hostFromTrue(host.monotonic.trueFromHost(raw.deviceTimeNs)))));
          lockError.recordValue(Math.abs(phaseOfNs(actualRig, NS_PER_S / spec.fps)));
        }
      },
    });
    residualOf.set(host.nodeId, host.rig);
    cameras.push(...host.cameras);
    const nodeId = host.nodeId;
    host.node.onEvent((e) => {
      if (e.type === 'restart') restarts++;
      if (e.type === 'locked') {
        locked.add(`${nodeId}/${e.cameraId}`);
        if (locked.size === totalCameras && lockedAtNs === undefined) lockedAtNs = scheduler.nowNs;
      }
    });
    nodes.push(host.node);
  }

  const skew = build({ numberOfSignificantValueDigits: 3 });
  const floor = build({ numberOfSignificantValueDigits: 3 });
  const span = build({ numberOfSignificantValueDigits: 3 });
  let groups = 0;
  let incomplete = 0;
  let measured = 0;
  const startNs = scheduler.nowNs;
  server.onEvent((e) => {
    if (e.type !== 'global-group') return;
    groups++;
    const g: FrameGroup = e.group;
    if (!g.complete) {
      incomplete++;
      return;
    }
    const settledAt = !spec.phaseLock
      ? startNs + 5n * NS_PER_S_BIG
      : lockedAtNs === undefined
        ? undefined
        : lockedAtNs + BigInt(Math.round(settleAfterLockNs(spec.fps)));
    const truths: bigint[] = [];
    for (const [cam, f] of g.frames) {
      const key = `${cam}@${f.rigTimeNs}`;
      const t = truthByFrame.get(key);
      truthByFrame.delete(key);
      if (t !== undefined) truths.push(t);
    }
    if (settledAt === undefined || scheduler.nowNs < settledAt || truths.length !== g.size) return;
    measured++;
    const min = truths.reduce((a, b) => (a < b ? a : b));
    const max = truths.reduce((a, b) => (a > b ? a : b));
    skew.recordValue(Number(max - min));
    span.recordValue(Math.round(g.spanNs));
    // The floor: with every camera exposing exactly on its host's grid, skew = spread of PTP residuals.
    const hosts = new Set([...g.frames.keys()].map((k) => residualOf.get(splitGlobalCameraId(k).nodeId)!));
    const r = [...hosts].map((clock) => clock.residualAt(min));
    floor.recordValue(Math.round(Math.max(...r) - Math.min(...r)));
  });
  // Bounded: ground truth of frames the server never grouped is forgotten.
  const pruneEvery = 2 * NS_PER_S;

  // Nodes start capturing once PTP has stepped and settled (its servo steps on the second sync),
  // each at its own moment, as real hosts come up: nothing aligns them but the rig.
  const ptpSettledNs = startNs + 3n * NS_PER_S_BIG;
  const starting = nodes.map(
    (node, h) =>
      new Promise<void>((resolve, reject) => {
        scheduler.at(ptpSettledNs + BigInt(Math.round(random.fork(`start${h}`).uniform(0, NS_PER_S))), () => {
          node.start().then(resolve, reject);
        });
      }),
  );
  await scheduler.runUntilAsync(ptpSettledNs + BigInt(NS_PER_S) + 1n);
  await Promise.all(starting);
  const endNs = startNs + BigInt(Math.round(options.durationS * NS_PER_S));
  for (let t = startNs; t < endNs; t += BigInt(pruneEvery)) {
    await scheduler.runUntilAsync(t + BigInt(pruneEvery) < endNs ? t + BigInt(pruneEvery) : endNs);
    if (truthByFrame.size > 200_000) truthByFrame.clear();
  }
  for (const node of nodes) await node.stop();
  server.close();

  const drops = cameras.reduce((n, c) => n + c.counts.drop + c.counts.stall + c.counts['no-buffer'], 0);
  const pct = (h: typeof skew, p: number) => (h.totalCount ? h.getValueAtPercentile(p) : 0);
  return {
    seed: spec.seed,
    hosts: spec.hosts,
    cameras: spec.cameras,
    fps: spec.fps,
    durationS: options.durationS,
    groups,
    incompleteGroups: incomplete,
    drops,
    trueSkewP50Ns: pct(skew, 50),
    trueSkewP99Ns: pct(skew, 99),
    trueSkewMaxNs: skew.totalCount ? skew.maxValue : 0,
    floorP99Ns: pct(floor, 99),
    reportedSpanP99Ns: pct(span, 99),
    lockTimeMs: !spec.phaseLock || lockedAtNs === undefined ? 0 : Number(lockedAtNs - ptpSettledNs) / 1e6,
    restarts,
    measuredGroups: measured,
    mappingErrorP99Ns: pct(mappingError, 99),
    lockErrorP99Ns: pct(lockError, 99),
  };
}

const NS_PER_S_BIG = BigInt(NS_PER_S);
