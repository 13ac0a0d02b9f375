import type { CameraDevice, CameraEvent } from './camera-device.js';
import { CaptureStats, type CaptureStatsSnapshot } from './capture-stats.js';
import { ConfigError, DeviceError, errorMessage, StateError } from './errors.js';
import type { Frame } from './frame.js';
import type { FrameGroup } from './frame-group.js';
import type { CameraSpec, DiscardReason, GroupingPolicy, PolicyOutput } from './grouping-policy.js';
import { HybridPolicy, type HybridSwitchEvent } from './hybrid-policy.js';
import { type ErrorSink, Listeners, type Unsubscribe } from './listeners.js';
import type { PolicyConfig } from './policy-config.js';
import { createPolicy } from './policy-factory.js';
import { IDENTITY_TIMEBASE, type RigTimebase } from './rig-timebase.js';
import { RingQueue } from './ring-queue.js';
import { type Clock, type InstantNs, NS_PER_MS, type Timers } from './time.js';

/** Builds a custom policy for the manager's cameras. */
export type PolicyBuilder = (cameras: readonly CameraSpec[], out: PolicyOutput) => GroupingPolicy;

export interface SyncCaptureManagerOptions {
  /** The grouping policy, by config or builder. */
  readonly policy: PolicyConfig | PolicyBuilder;
  /** The rig clock: the timebase of frames' rigTimeNs and of the manager's start instants. */
  readonly clock: Clock;
  /**
   * Converts between the devices' clock and the rig clock: maps each frame into the rig
   * timebase and turns rig start instants into device instants. Default: the rig clock
   * is the devices' clock (one host, no mapping).
   */
  readonly timebase?: RigTimebase;
  /** Timers for timeouts and ticks: the host's, fake timers, or the sim scheduler's. */
  readonly timers: Timers;
  /**
   * Groups held for the consumer; past this the oldest is dropped and counted. Default 64.
   * With zero-copy devices (CameraInfo.buffers set) it is capped at half the smallest
   * buffer count: queued groups hold driver buffers, and a starved driver would lose the
   * newest frames instead of the consumer losing the oldest groups.
   */
  readonly queueCapacity?: number;
  /** How often the policy is told that time passed (so a dead camera cannot stall groups), ms. Default 10. */
  readonly tickMs?: number;
  /** Without an explicit start instant, cameras start this far in the future, ns. Default 50 ms. */
  readonly startLeadNs?: number;
  /** Where errors thrown by this manager's event listeners go (they are counted in stats() either way). */
  readonly onListenerError?: ErrorSink;
}

/** Things a manager reports besides groups. */
export type ManagerEvent =
  | { readonly type: 'camera'; readonly event: CameraEvent }
  /** The consumer fell behind: the oldest queued group was dropped (its frames are released). */
  | {
      readonly type: 'group-dropped';
      readonly groupId: number;
      readonly frames: ReadonlyArray<{ readonly cameraId: string; readonly seq: number; readonly rigTimeNs: InstantNs }>;
    }
  /** The policy discarded a frame (never grouped), and why. */
  | { readonly type: 'discarded'; readonly frame: Frame; readonly reason: DiscardReason }
  | { readonly type: 'policy-switch'; readonly event: HybridSwitchEvent }
  /** The cameras were restarted together at `atNs` (rig time). */
  | { readonly type: 'relocked'; readonly atNs: InstantNs };

interface Waiter {
  resolve(group: FrameGroup | null): void;
  timer: unknown;
}

type State = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped';

/**
 * Runs cameras and a grouping policy and hands out frame groups. Seed: `sync_capture_manager`
 * (add_camera, start_capture → start, stop_capture → stop, get_sync_frame_group → nextGroup).
 *
 * Everything is bounded: the group queue drops its oldest group (counted) when
 * the consumer falls behind, and each policy bounds its own queues.
 */
export class SyncCaptureManager implements AsyncIterable<FrameGroup> {
  private readonly devices: CameraDevice[] = [];
  private readonly specs: CameraSpec[] = [];
  private policy: GroupingPolicy | undefined;
  private counters: CaptureStats | undefined;
  private readonly queue = new RingQueue<FrameGroup>(16);
  private readonly waiters: Waiter[] = [];
  private readonly subscriptions: Unsubscribe[] = [];
  private readonly events: Listeners<ManagerEvent>;
  private readonly timers: Timers;
  private readonly timebase: RigTimebase;
  private readonly requestedQueueCapacity: number;
  private effectiveQueueCapacity: number;
  private readonly tickMs: number;
  private readonly startLeadNs: number;
  private tickHandle: unknown;
  private state: State = 'idle';
  private relocking: Promise<void> | undefined;

  constructor(private readonly options: SyncCaptureManagerOptions) {
    this.timers = options.timers;
    this.timebase = options.timebase ?? IDENTITY_TIMEBASE;
    this.events = new Listeners<ManagerEvent>(options.onListenerError);
    this.requestedQueueCapacity = options.queueCapacity ?? 64;
    this.effectiveQueueCapacity = this.requestedQueueCapacity;
    if (!Number.isInteger(this.requestedQueueCapacity) || this.requestedQueueCapacity < 1) {
      throw new ConfigError(`queueCapacity must be a positive integer, got ${options.queueCapacity}`);
    }
    this.tickMs = options.tickMs ?? 10;
    this.startLeadNs = options.startLeadNs ?? 50 * NS_PER_MS;
  }

  /** Adds a camera before start. `fps` (if known) helps policies bound inter-frame intervals. */
  addCamera(device: CameraDevice, spec: { fps?: number } = {}): void {
    if (this.state !== 'idle') throw new StateError('cameras can only be added before start()');
    if (this.specs.some((s) => s.id === device.id)) throw new ConfigError(`camera id "${device.id}" is already in the rig`);
    this.devices.push(device);
    this.specs.push({ id: device.id, fps: spec.fps });
  }

  get cameraIds(): readonly string[] {
    return this.specs.map((s) => s.id);
  }

  /** The policy in use (after start). */
  get activePolicy(): GroupingPolicy | undefined {
    return this.policy;
  }

  onEvent(listener: (event: ManagerEvent) => void): Unsubscribe {
    return this.events.add(listener);
  }

  /**
   * Opens every camera, then starts them all at one instant (`atNs`, rig time; default
   * now plus the start lead). If any camera fails to open, none is started and the
   * error names each failing camera.
   */
  async start(options: { atNs?: InstantNs } = {}): Promise<{ atNs: InstantNs }> {
    if (this.state !== 'idle') throw new StateError(`start() called while ${this.state}`);
    if (this.devices.length === 0) throw new ConfigError('no cameras: add at least one camera before start()');
    this.state = 'starting';
    const stats = new CaptureStats(this.cameraIds);
    this.counters = stats;
    const out: PolicyOutput = {
      group: (g) => this.onGroup(g),
      discard: (f, reason) => this.onDiscard(f, reason),
    };
    const policy = typeof this.options.policy === 'function' ? this.options.policy(this.specs, out) : createPolicy(this.options.policy, this.specs, out);
    this.policy = policy;
    if (policy instanceof HybridPolicy) {
      policy.onSwitch((event) => {
        stats.policySwitches++;
        this.events.emit({ type: 'policy-switch', event });
      });
      policy.onRelockRequest(() => void this.relock());
    }

    const opened = await Promise.allSettled(this.devices.map((d) => d.open()));
    const failures = opened.flatMap((r, i) => {
      if (r.status !== 'rejected') return [];
      const id = this.devices[i]!.id;
      const message = errorMessage(r.reason);
      return [message.startsWith(`${id}: `) ? message : `${id}: ${message}`];
    });
    if (failures.length > 0) {
      await Promise.allSettled(this.devices.filter((_, i) => opened[i]!.status === 'fulfilled').map((d) => d.close()));
      this.state = 'idle';
      // One camera: its own error already names it. Several: one error naming each.
      const rejected = opened.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
      if (rejected.length === 1 && rejected[0] instanceof DeviceError) throw rejected[0];
      const codes = new Set(rejected.map((e) => (e instanceof DeviceError ? e.code : 'E_DEVICE')));
      throw new DeviceError(codes.size === 1 ? [...codes][0]! : 'E_DEVICE', 'rig', `cannot open ${failures.length} cameras: ${failures.join('; ')}`);
    }

    const buffers = this.devices.map((d) => d.info?.buffers).filter((b): b is number => b !== undefined);
    this.effectiveQueueCapacity =
      buffers.length > 0 ? Math.min(this.requestedQueueCapacity, Math.max(1, Math.floor(Math.min(...buffers) / 2))) : this.requestedQueueCapacity;

    const timebase = this.timebase;
    for (const device of this.devices) {
      this.subscriptions.push(
        device.onFrame((frame) => this.onFrame(timebase.mapFrame(frame))),
        device.onEvent((event) => this.onCameraEvent(event)),
      );
    }
    const atNs = options.atNs ?? this.options.clock.nowNs() + BigInt(this.startLeadNs);
    const atDeviceNs = timebase.toDeviceNs(atNs);
    await Promise.all(this.devices.map((d) => d.start({ atNs: atDeviceNs })));
    this.state = 'running';
    this.scheduleTick();
    return { atNs };
  }

  /**
   * Restarts every camera at one new instant (`atNs`, rig time; a synchronized re-lock),
   * e.g. when the hybrid policy asks for it. Sequence numbers restart; the policy is told.
   */
  async relock(options: { atNs?: InstantNs } = {}): Promise<void> {
    if (this.state !== 'running') return;
    if (this.relocking) return this.relocking;
    this.relocking = (async () => {
      await Promise.all(this.devices.map((d) => d.stop()));
      const policy = this.policy as GroupingPolicy & { restart?: () => void };
      policy.restart?.();
      this.counters!.onRestart();
      const atNs = options.atNs ?? this.options.clock.nowNs() + BigInt(this.startLeadNs);
      const atDeviceNs = this.timebase.toDeviceNs(atNs);
      await Promise.all(this.devices.map((d) => d.start({ atNs: atDeviceNs })));
      this.events.emit({ type: 'relocked', atNs });
    })().finally(() => {
      this.relocking = undefined;
    });
    return this.relocking;
  }

  /** Stops the cameras, emits the groups still pending (flagged `flushed`), and ends iteration once drained. */
  async stop(): Promise<void> {
    if (this.state !== 'running' && this.state !== 'starting') return;
    this.state = 'stopping';
    if (this.tickHandle !== undefined) this.timers.clearTimeout(this.tickHandle);
    this.tickHandle = undefined;
    if (this.relocking) await this.relocking.catch(() => undefined);
    await Promise.allSettled(this.devices.map((d) => d.stop()));
    for (const unsubscribe of this.subscriptions.splice(0)) unsubscribe();
    this.policy?.flush();
    await Promise.allSettled(this.devices.map((d) => d.close()));
    this.state = 'stopped';
    // Nothing more will come: wake every waiter that the queue cannot serve.
    for (const w of this.waiters.splice(0)) {
      this.timers.clearTimeout(w.timer);
      w.resolve(null);
    }
  }

  /**
   * The next group, or null after `timeoutMs` (or when stopped and drained).
   * Seed: `get_sync_frame_group(timeout_ms)`.
   */
  nextGroup(timeoutMs: number): Promise<FrameGroup | null> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.state === 'stopped' || this.state === 'idle') return Promise.resolve(null);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        resolve,
        timer: this.timers.setTimeout(() => {
          const i = this.waiters.indexOf(waiter);
          if (i >= 0) this.waiters.splice(i, 1);
          resolve(null);
        }, timeoutMs),
      };
      this.waiters.push(waiter);
    });
  }

  /** Groups until the manager is stopped and its queue drained. */
  async *[Symbol.asyncIterator](): AsyncIterator<FrameGroup> {
    for (;;) {
      const group = await this.nextGroup(1000);
      if (group) yield group;
      else if (this.state === 'stopped' && this.queue.length === 0) return;
    }
  }

  /** Groups the queue holds at most (after start: capped by device buffers). */
  get queueCapacity(): number {
    return this.effectiveQueueCapacity;
  }

  /** Groups waiting for the consumer. */
  get queuedGroups(): number {
    return this.queue.length;
  }

  /** Live statistics; `listenerErrors` counts exceptions thrown by this manager's event listeners. */
  stats(): CaptureStatsSnapshot & { readonly listenerErrors: number } {
    const counters = this.counters ?? new CaptureStats(this.cameraIds);
    return { ...counters.snapshot(this.options.clock.nowNs()), listenerErrors: this.events.failures };
  }

  private onFrame(frame: Frame): void {
    if (this.state !== 'running' && this.state !== 'starting') {
      frame.data?.release();
      return;
    }
    this.counters!.onFrame(frame);
    this.policy!.push(frame);
  }

  private onCameraEvent(event: CameraEvent): void {
    if (event.type === 'lost') this.counters!.onLost(event.cameraId);
    if (event.type === 'reconnected') this.counters!.onReconnected(event.cameraId);
    this.events.emit({ type: 'camera', event });
  }

  private onGroup(group: FrameGroup): void {
    this.counters!.onGroup(group, this.options.clock.nowNs());
    const waiter = this.waiters.shift();
    if (waiter) {
      this.timers.clearTimeout(waiter.timer);
      waiter.resolve(group);
      return;
    }
    if (this.queue.length >= this.effectiveQueueCapacity) {
      const dropped = this.queue.shift()!;
      const frames = [...dropped.frames.values()].map((f) => ({ cameraId: f.cameraId, seq: f.seq, rigTimeNs: f.rigTimeNs }));
      dropped.release();
      this.counters!.droppedGroups++;
      this.events.emit({ type: 'group-dropped', groupId: dropped.id, frames });
    }
    this.queue.push(group);
  }

  private onDiscard(frame: Frame, reason: DiscardReason): void {
    this.counters!.onDiscard(reason);
    this.events.emit({ type: 'discarded', frame, reason });
    frame.data?.release();
  }

  private scheduleTick(): void {
    this.tickHandle = this.timers.setTimeout(() => {
      if (this.state !== 'running') return;
      this.policy!.advance(this.options.clock.nowNs());
      this.scheduleTick();
    }, this.tickMs);
  }
}
