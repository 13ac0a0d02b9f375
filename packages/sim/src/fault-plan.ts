import type { SeededRandom } from './seeded-random.js';

/** What can go wrong in a rig, one kind per injector. */
export const FAULT_KINDS = [
  'camera-drops',
  'camera-stall',
  'camera-disconnect',
  'clock-step',
  'ptp-loss',
  'node-crash',
  'server-restart',
  'partition',
  'message-loss',
  'slow-consumer',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** One injected fault: it starts at `atNs` (virtual time) and ends `durationNs` later. */
export interface Fault {
  readonly id: number;
  readonly kind: FaultKind;
  readonly atNs: bigint;
  /** 0 for instantaneous faults (a clock step). */
  readonly durationNs: number;
  /** Host index, for every kind but server-restart. */
  readonly host?: number;
  /** Camera index on the host, for camera faults. */
  readonly camera?: number;
  /**
   * Kind-specific size: drop probability (camera-drops), packet loss probability
   * (message-loss), step in ns (clock-step), time to process one group in frame periods
   * (slow-consumer).
   */
  readonly magnitude?: number;
}

export interface FaultPlanOptions {
  /** Faults start in [startNs, endNs). */
  readonly startNs: bigint;
  readonly endNs: bigint;
  readonly hosts: number;
  readonly cameras: number;
  /** Mean time between fault starts (exponential gaps), ns. */
  readonly meanGapNs: number;
  /** Kinds to draw from (uniformly). Default: all. */
  readonly kinds?: readonly FaultKind[];
}

const S = 1e9;
/** Durations drawn uniformly in [min, max] seconds, per kind: long enough to matter, short enough to recover from. */
const DURATION_S: Record<FaultKind, readonly [number, number]> = {
  'camera-drops': [10, 60],
  'camera-stall': [0.1, 3],
  'camera-disconnect': [1, 30],
  'clock-step': [0, 0],
  'ptp-loss': [10, 600],
  'node-crash': [1, 30],
  'server-restart': [1, 20],
  partition: [1, 60],
  'message-loss': [10, 120],
  'slow-consumer': [5, 60],
};

/**
 * Draws a fault schedule from a seed: exponential gaps, a kind, a target and a size
 * per fault. Faults on one host (or on the server) never overlap: a fault whose target
 * is still failing starts 1 s after the earlier one ends. Faults on different hosts do.
 * The same seed and options give the same plan.
 */
export function planFaults(random: SeededRandom, options: FaultPlanOptions): Fault[] {
  const kinds = options.kinds ?? FAULT_KINDS;
  if (kinds.length === 0) return [];
  const faults: Fault[] = [];
  const busyUntil = new Map<string, bigint>();
  let t = options.startNs;
  for (let id = 0; ; id++) {
    t += BigInt(Math.round(random.exponential(options.meanGapNs)));
    if (t >= options.endNs) break;
    const kind = kinds[Math.floor(random.next() * kinds.length)]!;
    const [min, max] = DURATION_S[kind];
    const durationNs = Math.round(random.uniform(min, max) * S);
    const host = kind === 'server-restart' ? undefined : Math.floor(random.next() * options.hosts);
    const camera = kind.startsWith('camera-') ? Math.floor(random.next() * options.cameras) : undefined;
    const magnitude = drawMagnitude(kind, random);
    const target = host === undefined ? 'server' : `host${host}`;
    const free = busyUntil.get(target);
    const atNs = free !== undefined && free + BigInt(S) > t ? free + BigInt(S) : t;
    if (atNs >= options.endNs) continue;
    busyUntil.set(target, atNs + BigInt(durationNs));
    faults.push({ id, kind, atNs, durationNs, host, camera, magnitude });
  }
  return faults.sort((a, b) => (a.atNs < b.atNs ? -1 : a.atNs > b.atNs ? 1 : a.id - b.id));
}

function drawMagnitude(kind: FaultKind, random: SeededRandom): number | undefined {
  switch (kind) {
    case 'camera-drops':
      return random.uniform(0.05, 0.5);
    case 'message-loss':
      return random.uniform(0.01, 0.2);
    case 'clock-step':
      // ±0.2–20 ms, log-uniform: small steps are the common case.
      return (random.next() < 0.5 ? -1 : 1) * Math.round(200_000 * 100 ** random.next());
    case 'slow-consumer':
      return random.uniform(1.5, 10);
    default:
      return undefined;
  }
}
