import { ApproximatePolicy } from './approximate-policy.js';
import { BarrierPolicy } from './barrier-policy.js';
import { ConfigError } from './errors.js';
import type { Frame } from './frame.js';
import type { FrameGroup } from './frame-group.js';
import { type CameraSpec, checkNonNegative, checkPositiveInt, GroupIdCounter, type GroupingPolicy, type PolicyOutput } from './grouping-policy.js';
import { Listeners, type Unsubscribe } from './listeners.js';
import { median } from './robust-stats.js';
import type { InstantNs } from './time.js';
import { NS_PER_MS } from './time.js';
import { WindowPolicy } from './window-policy.js';

export type HybridMode = 'barrier' | 'fallback';

export interface HybridPolicyOptions {
  /** Median span (ns) of recent barrier groups above which the hybrid falls back. Default 5 ms. */
  readonly thresholdNs?: number;
  /** The time-based policy used while the barrier is not holding. Default 'window'. */
  readonly fallback?: 'window' | 'approximate';
  /** Fallback tolerance, ns. Default: thresholdNs. */
  readonly toleranceNs?: number;
  readonly maxWaitNs?: number;
  readonly minCameras?: number;
  readonly queueSize?: number;
  /** Complete groups whose median span is judged. Default 10. */
  readonly monitorWindow?: number;
  /** Switch back when the fallback's median span is under thresholdNs × this. Default 0.5. */
  readonly hysteresis?: number;
  /** Seed: `enable_performance_monitoring`. Default true. */
  readonly monitoring?: boolean;
}

/** Emitted when the hybrid changes mode. */
export interface HybridSwitchEvent {
  readonly from: HybridMode;
  readonly to: HybridMode;
  readonly reason: string;
  readonly medianSpanNs: number;
  /** Id of the group whose span completed the judgement (−1 when a late frame did). */
  readonly afterGroupId: number;
}

/**
 * Barrier while it holds, time-based fallback while it does not. Seed: `hybrid_sync_strategy`.
 *
 * Watches the median span of the last `monitorWindow` complete groups. Above
 * `thresholdNs` it hands every pending frame to the fallback (nothing is lost)
 * and asks the devices to re-lock (a synchronized restart; see `onRelockRequest`).
 * When the fallback's median span is under `thresholdNs × hysteresis`, it
 * re-bases the barrier's sequence lock on the last well-synced group and switches back.
 */
export class HybridPolicy implements GroupingPolicy {
  readonly name = 'hybrid' as const;
  readonly cameraIds: readonly string[];
  readonly thresholdNs: number;
  readonly hysteresis: number;
  private readonly barrier: BarrierPolicy;
  private readonly fallback: WindowPolicy | ApproximatePolicy;
  private active: GroupingPolicy;
  private monitoring: boolean;
  private readonly monitorWindow: number;
  private readonly spans: number[] = [];
  private readonly lastTimeNs = new Map<string, bigint>();
  private pendingSwitch: { to: HybridMode; event: HybridSwitchEvent; rebaseOn?: FrameGroup } | undefined;
  private readonly switchListeners = new Listeners<HybridSwitchEvent>();
  private readonly relockListeners = new Listeners<void>();
  /** Mode changes so far. */
  switches = 0;

  constructor(
    cameras: readonly CameraSpec[],
    private readonly out: PolicyOutput,
    options: HybridPolicyOptions = {},
  ) {
    this.cameraIds = cameras.map((c) => c.id);
    this.thresholdNs = checkNonNegative('thresholdNs', options.thresholdNs ?? 5 * NS_PER_MS);
    this.hysteresis = options.hysteresis ?? 0.5;
    if (!(this.hysteresis > 0 && this.hysteresis <= 1)) throw new ConfigError(`hysteresis must be in (0, 1], got ${this.hysteresis}`);
    this.monitorWindow = checkPositiveInt('monitorWindow', options.monitorWindow ?? 10);
    this.monitoring = options.monitoring ?? true;
    const ids = new GroupIdCounter();
    const inner: PolicyOutput = {
      group: (g) => this.onGroup(g),
      discard: (f, reason) => {
        out.discard(f, reason);
        // A frame arriving after its barrier group timed out is as much a sign of a broken
        // lock as a wide span (a camera running whole periods behind): judge it as unbounded.
        if (reason === 'late' && this.active === this.barrier) this.judge(Number.POSITIVE_INFINITY, -1);
      },
    };
    this.barrier = new BarrierPolicy(cameras, inner, { maxWaitNs: options.maxWaitNs, maxPendingGroups: options.queueSize }, ids);
    const fallback = options.fallback ?? 'window';
    if (fallback === 'window') {
      this.fallback = new WindowPolicy(
        cameras,
        inner,
        { toleranceNs: options.toleranceNs ?? this.thresholdNs, maxWaitNs: options.maxWaitNs, minCameras: options.minCameras, queueSize: options.queueSize },
        ids,
      );
    } else if (fallback === 'approximate') {
      this.fallback = new ApproximatePolicy(cameras, inner, { toleranceNs: options.toleranceNs, queueSize: options.queueSize }, ids);
    } else {
      throw new ConfigError(`fallback must be "window" or "approximate", got "${String(fallback)}"`);
    }
    this.active = this.barrier;
  }

  get mode(): HybridMode {
    return this.active === this.barrier ? 'barrier' : 'fallback';
  }

  get pendingFrames(): number {
    return this.active.pendingFrames;
  }

  /** Seed: `set_tolerance`. The fallback's tolerance, ns. */
  setTolerance(toleranceNs: number): void {
    this.fallback.setTolerance(toleranceNs);
  }

  /** Seed: `enable_performance_monitoring`. Off: stays in its current mode. */
  enableMonitoring(enabled: boolean): void {
    this.monitoring = enabled;
    this.spans.length = 0;
  }

  onSwitch(listener: (event: HybridSwitchEvent) => void): Unsubscribe {
    return this.switchListeners.add(listener);
  }

  /** Called when the hybrid falls back: the cameras should be restarted together. */
  onRelockRequest(listener: () => void): Unsubscribe {
    return this.relockListeners.add(listener);
  }

  push(frame: Frame): void {
    // Order is checked here, not only in the sub-policies: each keeps its own history,
    // which has gaps while the other one is active.
    const last = this.lastTimeNs.get(frame.cameraId);
    if (last !== undefined && frame.rigTimeNs <= last) {
      this.out.discard(frame, 'out-of-order');
      return;
    }
    if (this.cameraIds.includes(frame.cameraId)) this.lastTimeNs.set(frame.cameraId, frame.rigTimeNs);
    this.active.push(frame);
    this.applyPendingSwitch();
  }

  advance(nowNs: InstantNs): void {
    this.active.advance(nowNs);
    this.applyPendingSwitch();
  }

  flush(): void {
    this.active.flush();
    this.pendingSwitch = undefined;
  }

  drainPending(): Frame[] {
    return this.active.drainPending();
  }

  /** The cameras were restarted together: forwards to the barrier's epoch handling. */
  restart(): void {
    if (this.active === this.barrier) this.barrier.restart();
  }

  private onGroup(group: FrameGroup): void {
    this.out.group(group);
    if (group.complete) this.judge(group.spanNs, group.id, group);
  }

  /** Adds one span sample (a complete group's, or ∞ for a late frame) and decides whether to switch. */
  private judge(spanNs: number, groupId: number, group?: FrameGroup): void {
    if (!this.monitoring || this.pendingSwitch) return;
    this.spans.push(spanNs);
    if (this.spans.length > this.monitorWindow) this.spans.shift();
    if (this.spans.length < this.monitorWindow) return;
    const medianSpanNs = median(this.spans);
    if (this.mode === 'barrier' && medianSpanNs > this.thresholdNs) {
      this.pendingSwitch = {
        to: 'fallback',
        event: {
          from: 'barrier',
          to: 'fallback',
          reason:
            medianSpanNs === Number.POSITIVE_INFINITY
              ? `frames keep arriving after their barrier group timed out (a camera is whole periods off)`
              : `median span ${medianSpanNs} ns over the last ${this.monitorWindow} groups exceeds the ${this.thresholdNs} ns threshold`,
          medianSpanNs,
          afterGroupId: groupId,
        },
      };
    } else if (group && this.mode === 'fallback' && medianSpanNs < this.thresholdNs * this.hysteresis && group.spanNs < this.thresholdNs * this.hysteresis) {
      this.pendingSwitch = {
        to: 'barrier',
        rebaseOn: group,
        event: {
          from: 'fallback',
          to: 'barrier',
          reason: `median span ${medianSpanNs} ns over the last ${this.monitorWindow} groups is under ${this.thresholdNs * this.hysteresis} ns: re-locking the barrier`,
          medianSpanNs,
          afterGroupId: groupId,
        },
      };
    }
  }

  /** Switches between policies outside their call stacks, handing over every pending frame. */
  private applyPendingSwitch(): void {
    const pending = this.pendingSwitch;
    if (!pending) return;
    this.pendingSwitch = undefined;
    const handOver = this.active.drainPending();
    if (pending.to === 'barrier') {
      this.barrier.rebase(pending.rebaseOn!);
      this.active = this.barrier;
    } else {
      this.active = this.fallback;
    }
    this.spans.length = 0;
    this.switches++;
    this.switchListeners.emit(pending.event);
    if (pending.to === 'fallback') this.relockListeners.emit();
    handOver.sort((a, b) => (a.rigTimeNs < b.rigTimeNs ? -1 : a.rigTimeNs > b.rigTimeNs ? 1 : 0));
    for (const frame of handOver) this.active.push(frame);
    this.applyPendingSwitch();
  }
}
