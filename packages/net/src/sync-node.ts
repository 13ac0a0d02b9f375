import {
  type CameraDevice,
  type ClockMapper,
  type ClockSample,
  type ErrorSink,
  errorMessage,
  type Frame,
  type FrameGroup,
  Listeners,
  PhaseLock,
  type PhaseLockOptions,
  type PolicyConfig,
  periodNsFromFps,
  SyncCaptureManager,
  type Timers,
  type Unsubscribe,
} from '@syncap/core';
import { type DeliveryOptions, type DeliveryStats, GroupDelivery } from './group-delivery.js';
import type { AdjustCommand } from './protocol.js';
import type { SyncClient } from './sync-client.js';
import { type Thumbnailer, ThumbnailFeed, type ThumbnailFeedOptions, type ThumbnailStats } from './thumbnail-feed.js';

export interface SyncNodeOptions {
  readonly nodeId: string;
  /** Cameras with their nominal rates (the grid period is 1e9 / fps). */
  readonly cameras: ReadonlyArray<{ readonly device: CameraDevice; readonly fps: number }>;
  /** Groups this host's cameras locally. Default window, 1 ms. */
  readonly policy?: PolicyConfig;
  /** Maps the cameras' monotonic timestamps to rig time. */
  readonly mapper: ClockMapper;
  /** Reads rig − monotonic (native bracket sampler, or the simulation's). */
  readonly sampleClock: () => ClockSample;
  /** Re-sample the clocks this often, ms. Default 1000. */
  readonly sampleEveryMs?: number;
  /** Monotonic clock (the devices' timebase). */
  readonly monotonic: { nowNs(): bigint };
  /** Timers for clock sampling and the manager (the host's, or virtual ones). */
  readonly timers: Timers;
  /** Where errors thrown by event listeners go. */
  readonly onListenerError?: ErrorSink;
  /** Report to this server link; omit to run stand-alone. */
  readonly client?: SyncClient;
  /**
   * Send the server a small JPEG of each camera's latest frame, for its dashboard: at most one
   * per camera per interval (default 1 s), made off the JS thread, skipped (counted) whenever the
   * link is backed up (see ThumbnailFeed). Needs `client`. Default: none.
   */
  readonly thumbnails?: ThumbnailFeedOptions;
  /** Lock camera phase to the rig grid. Default on (tolerance 100 µs); false turns it off. */
  readonly phaseLock?: Omit<PhaseLockOptions, 'periodNs'> | false;
  /**
   * Consumer of the local groups (the application). Groups not taken are released. A
   * consumer that returns a promise is waited for before the next group: while it is
   * slow, the manager's bounded queue drops the oldest groups (counted) — or, with a
   * delivery delay, the delivery stage's (see `delivery`).
   */
  readonly onGroup?: (group: FrameGroup) => void | Promise<void>;
  /**
   * When `onGroup` gets each group: by default as soon as it forms; with a delay (here, or
   * from the server's delivery-delay command), at the group's rig time plus the delay, so
   * that every host processes the same instant at the same wall time. A group already past
   * its instant goes at once, counted late. Reports to the server are never delayed.
   */
  readonly delivery?: DeliveryOptions;
}

export type SyncNodeEvent =
  | { readonly type: 'restart'; readonly cameraId: string; readonly atRigNs: bigint; readonly phaseErrorNs: number }
  | { readonly type: 'locked'; readonly cameraId: string; readonly phaseErrorNs: number }
  | { readonly type: 'clock-step' }
  /** A camera was unplugged (its lock is void), or came back and was restarted on the grid. */
  | { readonly type: 'camera-lost'; readonly cameraId: string }
  | { readonly type: 'camera-restarted'; readonly cameraId: string; readonly atRigNs: bigint }
  | { readonly type: 'camera-error'; readonly cameraId: string; readonly message: string }
  /** The application's group consumer threw (or its promise rejected); the group was released. */
  | { readonly type: 'consumer-error'; readonly groupId: number; readonly message: string }
  | { readonly type: 'command'; readonly command: AdjustCommand };

/**
 * One node of a multi-host rig (the seed's client main loop, done as DESIGN §4 says):
 * starts its cameras on the rig's time grid, keeps each camera phase-locked to it,
 * groups frames locally, reports group metadata to the sync server and applies its
 * commands. It never delays capture or reporting; the seed's time adjustment (the
 * server's delivery delay) only decides when the application gets each group: at the
 * group's rig time plus the delay, on every host alike.
 */
export class SyncNode {
  readonly manager: SyncCaptureManager;
  /** The local grouping policy in use: the option's, or the default (window, 1 ms). */
  readonly policy: PolicyConfig;
  private readonly locks = new Map<string, PhaseLock>();
  private readonly events: Listeners<SyncNodeEvent>;
  private readonly timers: Timers;
  private sampleHandle: unknown;
  private running = false;
  private readonly lockedOnce = new Set<string>();
  private readonly delivery: GroupDelivery;
  private readonly thumbnails: ThumbnailFeed | undefined;
  private readonly devices = new Map<string, CameraDevice>();

  constructor(private readonly options: SyncNodeOptions) {
    this.timers = options.timers;
    this.events = new Listeners(options.onListenerError);
    // The manager's clock is the rig clock; its start and relock instants reach the cameras
    // through the mapper (rig → monotonic), and each frame comes back through it (monotonic → rig).
    this.policy = options.policy ?? { name: 'window', toleranceNs: 1_000_000 };
    this.manager = new SyncCaptureManager({
      policy: this.policy,
      clock: { nowNs: () => this.rigNow() },
      timebase: { mapFrame: (frame) => this.onFrame(frame), toDeviceNs: (rigNs) => options.mapper.toMonotonic(rigNs) },
      timers: this.timers,
      onListenerError: options.onListenerError,
    });
    for (const { device, fps } of options.cameras) {
      this.devices.set(device.id, device);
      this.manager.addCamera(device, { fps });
      if (options.phaseLock !== false) this.locks.set(device.id, new PhaseLock({ periodNs: periodNsFromFps(fps), ...options.phaseLock }));
    }
    this.delivery = new GroupDelivery(
      options.delivery ?? {},
      this.timers,
      () => this.rigNow(),
      (group) => this.handOver(group),
    );
    this.thumbnails = options.client && options.thumbnails ? new ThumbnailFeed(options.thumbnails, options.client) : undefined;
    options.client?.onCommand((command) => this.applyCommand(command));
    this.manager.onEvent((e) => {
      if (e.type === 'camera') this.onCameraEvent(e.event.type, e.event.cameraId);
    });
  }

  onEvent(listener: (event: SyncNodeEvent) => void): Unsubscribe {
    return this.events.add(listener);
  }

  /** Cameras whose phase is within tolerance of the grid (all of them, without phase lock). */
  get lockedCameras(): string[] {
    return this.options.phaseLock === false
      ? this.options.cameras.map((c) => c.device.id)
      : [...this.locks].filter(([, l]) => l.state === 'locked').map(([id]) => id);
  }

  /** The delivery delay in force, ns (the seed's time adjustment; 0: groups go out as they form). */
  get deliveryDelayNs(): number {
    return this.delivery.currentDelayNs;
  }

  /** Sets the delivery delay (as the server's delivery-delay command does). */
  setDeliveryDelay(delayNs: number): void {
    this.delivery.setDelay(delayNs);
  }

  /** How groups were handed to the application: on time, late, early or dropped (bounded wait). */
  deliveryStats(): DeliveryStats {
    return this.delivery.stats();
  }

  /** What became of the thumbnail slots (undefined without thumbnails). */
  thumbnailStats(): ThumbnailStats | undefined {
    return this.thumbnails?.stats();
  }

  phaseErrors(): Record<string, number | undefined> {
    return Object.fromEntries([...this.locks].map(([id, l]) => [id, l.lastPhaseErrorNs]));
  }

  /** Opens and starts the cameras, then connects to the server. A camera that fails leaves nothing running. */
  async start(): Promise<void> {
    this.running = true;
    this.sample();
    const first = [...this.locks.values()][0];
    // Every camera starts at one grid instant (GigE-style scheduled start); each lock then refines its own.
    const atRig = first ? first.firstStart(this.rigNow()) : this.rigNow() + 50_000_000n;
    for (const l of this.locks.values()) l.started(0);
    try {
      await this.manager.start({ atNs: atRig });
    } catch (error) {
      this.running = false;
      throw error;
    }
    this.options.client?.setNoPreview(this.noPreviewNotes());
    this.options.client?.start();
    void this.consume();
    this.scheduleSampling();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.timers.clearTimeout(this.sampleHandle);
    await this.manager.stop();
    // Nothing more to wait for: the groups held for their instant go out now.
    void this.delivery.flush();
    this.options.client?.stop();
  }

  /** Why each camera that sends no thumbnails has none (its format is known once it is open), for the dashboard. */
  private noPreviewNotes(): Record<string, string> {
    const thumbnailer = this.thumbnails && this.options.thumbnails?.thumbnailer;
    const notes: Record<string, string> = {};
    for (const [id, device] of this.devices) {
      const note = noPreviewNote(device.info?.pixelFormat, thumbnailer);
      if (note) notes[id] = note;
    }
    return notes;
  }

  private rigNow(): bigint {
    return this.options.mapper.toRig(this.options.monotonic.nowNs()).rigNs;
  }

  private onFrame(frame: Frame): Frame {
    const mapped = this.options.mapper.mapFrame(frame);
    this.thumbnails?.offer(mapped, this.devices.get(frame.cameraId)?.info);
    const lock = this.locks.get(frame.cameraId);
    if (lock && this.running) {
      const action = lock.onFrame(mapped.rigTimeNs, () => this.rigNow());
      if (lock.state === 'locked' && !this.lockedOnce.has(frame.cameraId)) {
        this.lockedOnce.add(frame.cameraId);
        this.events.emit({ type: 'locked', cameraId: frame.cameraId, phaseErrorNs: lock.lastPhaseErrorNs ?? 0 });
      }
      if (action?.kind === 'trim') this.deviceOf(frame.cameraId)?.setPeriodTrimNs?.(action.periodTrimNs);
      if (action?.kind === 'restart') {
        this.lockedOnce.delete(frame.cameraId);
        this.events.emit({ type: 'restart', cameraId: frame.cameraId, atRigNs: action.atNs, phaseErrorNs: action.phaseErrorNs });
        void this.restartCamera(frame.cameraId, action.atNs);
      }
    }
    return mapped;
  }

  /** Restarts one camera at a rig instant. A camera that cannot start (unplugged meanwhile) stays down and says why. */
  private async restartCamera(cameraId: string, atRigNs: bigint): Promise<void> {
    const device = this.deviceOf(cameraId);
    if (!device) return;
    try {
      await device.stop();
      device.setPeriodTrimNs?.(0);
      if (!this.running) return;
      await device.start({ atNs: this.options.mapper.toMonotonic(atRigNs) });
    } catch (error) {
      this.events.emit({ type: 'camera-error', cameraId, message: errorMessage(error) });
    }
  }

  /** An unplugged camera is no longer locked; one that comes back is restarted at the next grid instant. */
  private onCameraEvent(type: string, cameraId: string): void {
    const lock = this.locks.get(cameraId);
    if (type === 'lost') {
      lock?.reset();
      this.lockedOnce.delete(cameraId);
      this.events.emit({ type: 'camera-lost', cameraId });
      return;
    }
    if (type !== 'reconnected' || !this.running) return;
    const atRigNs = lock ? lock.firstStart(this.rigNow()) : this.rigNow() + 50_000_000n;
    lock?.started(0);
    this.events.emit({ type: 'camera-restarted', cameraId, atRigNs });
    void this.restartCamera(cameraId, atRigNs);
  }

  private deviceOf(cameraId: string): CameraDevice | undefined {
    return this.devices.get(cameraId);
  }

  private applyCommand(command: AdjustCommand): void {
    this.events.emit({ type: 'command', command });
    switch (command.kind) {
      case 'shift-phase':
        for (const l of this.locks.values()) l.shiftGrid(command.offsetNs);
        return;
      case 'relock':
        for (const [id, l] of this.locks) {
          l.started(0);
          void this.restartCamera(id, BigInt(command.atNs));
        }
        return;
      case 'delivery-delay':
        if (this.options.delivery?.followServer !== false) this.delivery.setDelay(command.delayNs);
        return;
    }
  }

  private async consume(): Promise<void> {
    for await (const group of this.manager) {
      this.options.client?.reportGroup(group);
      if (!this.options.onGroup) {
        group.release();
        continue;
      }
      this.delivery.push(group);
      // Without a delay, a slow consumer holds the next group back (the manager's bounded queue
      // drops the oldest); with one, groups wait in the delivery stage and reports go on.
      if (this.delivery.currentDelayNs === 0) await this.delivery.whenIdle();
    }
  }

  private async handOver(group: FrameGroup): Promise<void> {
    try {
      await this.options.onGroup!(group);
    } catch (error) {
      // The application's bug must not stop capture or reporting: say it, free the buffers, go on.
      group.release();
      this.events.emit({ type: 'consumer-error', groupId: group.id, message: errorMessage(error) });
    }
  }

  private sample(): void {
    if (this.options.mapper.addSample(this.options.sampleClock()).step) {
      // The rig clock jumped: every camera's phase is off by the step; measure again.
      for (const l of this.locks.values()) l.reset();
      this.events.emit({ type: 'clock-step' });
    }
  }

  private scheduleSampling(): void {
    this.sampleHandle = this.timers.setTimeout(() => {
      if (!this.running) return;
      this.sample();
      this.scheduleSampling();
    }, this.options.sampleEveryMs ?? 1000);
  }
}

/** Why a camera of this format gets no thumbnails, or undefined when it gets them (or its format is not known). */
function noPreviewNote(pixelFormat: string | undefined, thumbnailer: Thumbnailer | undefined): string | undefined {
  if (!thumbnailer) return 'thumbnails are off on this node';
  if (pixelFormat === undefined || thumbnailer.supports(pixelFormat)) return undefined;
  return pixelFormat === 'SIM' ? 'a simulated camera without pixels (timing only)' : `${pixelFormat} frames are not decoded for previews`;
}
