import {
  type Clock,
  type ErrorSink,
  errorMessage,
  type FrameGroup,
  formatInstantNs,
  frameTimes,
  Listeners,
  parseInstantNs,
  type Random,
  type Timers,
  type Unsubscribe,
} from '@syncap/core';
import { RingQueue } from '@syncap/core/internal';
import type { Connector, MessageConnection } from './message-connection.js';
import { OffsetEstimator, offsetFromTimestamps } from './ntp-offset.js';
import {
  type AdjustCommand,
  type CameraAnnounce,
  decodeMessage,
  encodeMessage,
  type GroupReport,
  MAX_GROUPS_PER_BATCH,
  MAX_NO_PREVIEW_CHARS,
  type NodeMessage,
  PROTOCOL_VERSION,
  type PtpState,
  serverMessageSchema,
} from './protocol.js';
import { encodeThumbnailMessage, type ThumbnailMessage } from './thumbnail-message.js';

/**
 * Whether a thumbnail can go now: `ready`; `offline` (no welcomed connection); `unsupported`
 * (the server did not say it takes them); `too-large` (more bytes than the server takes);
 * `backed-up` (the socket has more than `maxThumbnailBufferedBytes` unsent: thumbnails never
 * queue behind, or in front of, reports).
 */
export type ThumbnailRoom = 'ready' | 'offline' | 'unsupported' | 'too-large' | 'backed-up';

export interface SyncClientOptions {
  readonly connect: Connector;
  readonly nodeId: string;
  readonly token: string;
  /** The cameras the hello announces (their preview notes come from setNoPreview). */
  readonly cameras: readonly { id: string; fps: number }[];
  /** The node's rig timebase (PTP-disciplined), for the channel offset check. */
  readonly clock: Clock;
  /** Timers for batching, heartbeats and reconnects (the host's, or virtual ones). */
  readonly timers: Timers;
  /** Randomness for the reconnect jitter. */
  readonly random: Random;
  /**
   * Names this run of the node process: report ids restart with it, so the server forgets
   * a session it has not seen. Must differ on every process start (@syncap/host randomSessionId).
   */
  readonly session: string;
  /** Where errors thrown by event and command listeners go. */
  readonly onListenerError?: ErrorSink;
  /** Group reports kept while the server is away; past this the oldest are dropped and counted. Default 10 000. */
  readonly backlogCapacity?: number;
  /** How often queued reports are sent, ms. Default 50. */
  readonly batchMs?: number;
  /** Ping interval (heartbeat and offset check), ms. Default 1000. */
  readonly heartbeatMs?: number;
  /** No message from the server for this long: the connection is presumed dead, ms. Default 3000. */
  readonly heartbeatTimeoutMs?: number;
  /** A thumbnail is skipped while the socket has more than this unsent, bytes. Default 64 KiB. */
  readonly maxThumbnailBufferedBytes?: number;
  /** Reconnect backoff: first delay, cap (ms), and ± jitter fraction. Defaults 250, 10 000, 0.2. */
  readonly backoff?: { readonly initialMs?: number; readonly maxMs?: number; readonly jitter?: number };
}

export type SyncClientEvent =
  | { readonly type: 'connected' }
  | { readonly type: 'disconnected'; readonly code: number; readonly reason: string; readonly retryInMs: number }
  | { readonly type: 'connect-failed'; readonly error: string; readonly retryInMs: number }
  | { readonly type: 'server-error'; readonly code: string; readonly message: string }
  /** The backlog was full: its oldest report was dropped (counted and told to the server). */
  | { readonly type: 'backlog-dropped'; readonly report: GroupReport };

interface Pending {
  readonly batch: number;
  readonly reports: GroupReport[];
}

/**
 * A node's link to the sync server. Seed: `sync_client` — but it never delays
 * capture: it reports group metadata, applies commands through `onCommand`, and
 * keeps a bounded backlog while the server is away (counted when it overflows).
 * Reports are forgotten only when the server acknowledges their batch, so a
 * connection that dies mid-flight loses nothing: unacknowledged batches are sent
 * again and the server skips what it already has.
 */
export class SyncClient {
  private readonly timers: Timers;
  private readonly random: Random;
  private readonly backlog = new RingQueue<GroupReport>(256);
  private readonly capacity: number;
  private inFlight: Pending[] = [];
  /** Reports in `inFlight` (sent, not yet acknowledged). */
  private inFlightReports = 0;
  private connection: MessageConnection | undefined;
  private welcomed = false;
  /** The largest thumbnail the server said it takes (its welcome), bytes; undefined: it takes none. */
  private thumbnailLimit: number | undefined;
  private batch = 0;
  private pingId = 0;
  private readonly pings = new Map<number, bigint>();
  private readonly offsets = new OffsetEstimator();
  private readonly commands: Listeners<AdjustCommand>;
  private readonly events: Listeners<SyncClientEvent>;
  private attempt = 0;
  private running = false;
  private timersSet: unknown[] = [];
  private lastHeardMs = 0;
  private nowMs = 0;
  private reportsMade = 0;
  private backlogDropped = 0;
  private connects = 0;
  private lastPtp: NodeMessage | undefined;
  private lastPhaseLock: NodeMessage | undefined;
  private readonly noPreview = new Map<string, string>();
  /** This client's session: report ids restart with it. */
  private readonly session: string;

  constructor(private readonly options: SyncClientOptions) {
    this.timers = options.timers;
    this.random = options.random;
    this.session = options.session;
    this.commands = new Listeners(options.onListenerError);
    this.events = new Listeners(options.onListenerError);
    this.capacity = options.backlogCapacity ?? 10_000;
  }

  onCommand(listener: (command: AdjustCommand) => void): Unsubscribe {
    return this.commands.add(listener);
  }

  onEvent(listener: (event: SyncClientEvent) => void): Unsubscribe {
    return this.events.add(listener);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    void this.dial();
    this.every(this.options.batchMs ?? 50, () => this.flush());
    this.every(this.options.heartbeatMs ?? 1000, () => this.heartbeat());
  }

  stop(): void {
    this.running = false;
    for (const t of this.timersSet) this.timers.clearTimeout(t);
    this.timersSet = [];
    this.connection?.close(1000, 'node stopping');
    this.connection = undefined;
  }

  /** Queues a group's metadata for the server. Never blocks; never throws. */
  reportGroup(group: FrameGroup): void {
    this.enqueue({ id: this.reportsMade, t: formatInstantNs(group.timeNs), spanNs: group.spanNs, frames: frameTimes(group.frames.values()) });
  }

  reportPtp(status: { state: PtpState; offsetNs?: number; rmsNs?: number; freqPpb?: number; pathDelayNs?: number }): void {
    const offset = this.offsets.estimate();
    this.lastPtp = {
      type: 'ptp',
      ...status,
      ...(offset ? { channelOffsetNs: offset.offsetNs, channelErrorNs: offset.errorBoundNs } : {}),
    };
    this.sendNow(this.lastPtp);
  }

  reportDrops(byCamera: Record<string, number>): void {
    this.sendNow({ type: 'drops', byCamera });
  }

  /**
   * Tells the server whether this node phase-locks its cameras and how many are locked: the
   * server measures every node's phase against a reference, which must be a locked node.
   */
  reportPhaseLock(status: { enabled: boolean; locked: number }): void {
    this.lastPhaseLock = { type: 'phase-lock', enabled: status.enabled, locked: status.locked, cameras: this.options.cameras.length };
    this.sendNow(this.lastPhaseLock);
  }

  /**
   * Why these cameras send no thumbnails (an H264 camera, timing only), for the dashboard to
   * say instead of showing an empty tile. Goes out with the next hello: call it before start().
   */
  setNoPreview(notes: Readonly<Record<string, string>>): void {
    this.noPreview.clear();
    for (const [id, note] of Object.entries(notes)) this.noPreview.set(id, note.slice(0, MAX_NO_PREVIEW_CHARS));
  }

  /** Whether a thumbnail could be sent now (see ThumbnailRoom). */
  thumbnailRoom(bytes = 0): ThumbnailRoom {
    const connection = this.connection;
    if (!connection || !this.welcomed) return 'offline';
    if (this.thumbnailLimit === undefined) return 'unsupported';
    if (bytes > this.thumbnailLimit) return 'too-large';
    return connection.bufferedBytes > (this.options.maxThumbnailBufferedBytes ?? 64 * 1024) ? 'backed-up' : 'ready';
  }

  /**
   * Sends a thumbnail as one binary message, if there is room (thumbnailRoom); never queues
   * it. Returns what stood in the way, or `ready` when it went.
   */
  sendThumbnail(thumbnail: ThumbnailMessage): ThumbnailRoom {
    const room = this.thumbnailRoom(thumbnail.jpeg.byteLength);
    if (room === 'ready') this.connection!.sendBinary(encodeThumbnailMessage(thumbnail));
    return room;
  }

  /** The server's clock minus ours, measured over this channel (min-RTT filtered). */
  channelOffset(): { offsetNs: number; errorBoundNs: number; samples: number } | undefined {
    return this.offsets.estimate();
  }

  stats() {
    return {
      connected: this.welcomed,
      connects: this.connects,
      reported: this.reportsMade,
      backlog: this.backlog.length + this.inFlightReports,
      backlogDropped: this.backlogDropped,
      channelOffset: this.channelOffset(),
    };
  }

  private enqueue(report: GroupReport): void {
    this.reportsMade++;
    if (this.backlog.length + this.inFlightReports >= this.capacity) {
      // Bounded: the oldest unsent report goes, and the server is told how many went.
      let dropped: GroupReport | undefined;
      if (this.backlog.length > 0) dropped = this.backlog.shift();
      else {
        dropped = this.inFlight[0]?.reports.shift();
        if (dropped) this.inFlightReports--;
      }
      this.backlogDropped++;
      if (dropped) this.events.emit({ type: 'backlog-dropped', report: dropped });
    }
    this.backlog.push(report);
  }

  private async dial(): Promise<void> {
    if (!this.running) return;
    let connection: MessageConnection;
    try {
      connection = await this.options.connect();
    } catch (error) {
      const retryInMs = this.nextBackoff();
      this.events.emit({ type: 'connect-failed', error: errorMessage(error), retryInMs });
      this.later(retryInMs, () => void this.dial());
      return;
    }
    if (!this.running) {
      connection.close(1000, 'node stopping');
      return;
    }
    this.connection = connection;
    this.welcomed = false;
    this.lastHeardMs = this.nowMs;
    connection.onMessage((text) => this.onMessage(connection, text));
    connection.onClose((code, reason) => {
      if (this.connection !== connection) return;
      this.connection = undefined;
      this.welcomed = false;
      this.thumbnailLimit = undefined;
      // Whatever was sent but not acknowledged goes back to the front of the backlog.
      const unacked = this.inFlight.flatMap((p) => p.reports);
      this.inFlight = [];
      this.inFlightReports = 0;
      for (let i = unacked.length - 1; i >= 0; i--) this.backlog.unshift(unacked[i]!);
      if (!this.running) return;
      const retryInMs = this.nextBackoff();
      this.events.emit({ type: 'disconnected', code, reason, retryInMs });
      this.later(retryInMs, () => void this.dial());
    });
    this.send(connection, {
      type: 'hello',
      v: PROTOCOL_VERSION,
      nodeId: this.options.nodeId,
      token: this.options.token,
      cameras: this.options.cameras.map((c): CameraAnnounce => {
        const noPreview = this.noPreview.get(c.id);
        return noPreview === undefined ? c : { ...c, noPreview };
      }),
      capabilities: ['phase-lock', 'ntp-check'],
      session: this.session,
    });
  }

  private onMessage(connection: MessageConnection, text: string): void {
    this.lastHeardMs = this.nowMs;
    let message: ReturnType<typeof serverMessageSchema.parse>;
    try {
      message = decodeMessage(text, serverMessageSchema);
    } catch (error) {
      this.events.emit({ type: 'server-error', code: 'E_PROTOCOL', message: errorMessage(error) });
      return;
    }
    switch (message.type) {
      case 'welcome': {
        const limit = message.config.maxThumbnailBytes;
        this.thumbnailLimit = typeof limit === 'number' && limit > 0 ? limit : undefined;
        this.welcomed = true;
        this.attempt = 0;
        this.connects++;
        this.batch = 0;
        this.events.emit({ type: 'connected' });
        if (this.lastPtp) this.send(connection, this.lastPtp);
        if (this.lastPhaseLock) this.send(connection, this.lastPhaseLock);
        this.flush();
        return;
      }
      case 'ack':
        while (this.inFlight.length > 0 && this.inFlight[0]!.batch <= message.batch) this.inFlightReports -= this.inFlight.shift()!.reports.length;
        return;
      case 'pong': {
        const t1 = this.pings.get(message.id);
        this.pings.delete(message.id);
        if (t1 !== undefined) this.offsets.add(offsetFromTimestamps(t1, parseInstantNs(message.t2), parseInstantNs(message.t3), this.options.clock.nowNs()));
        return;
      }
      case 'error':
        this.events.emit({ type: 'server-error', code: message.code, message: message.message });
        return;
      case 'adjust':
        this.commands.emit(message);
        return;
    }
  }

  private flush(): void {
    const connection = this.connection;
    if (!connection || !this.welcomed) return;
    // Don't pile onto a socket that is not draining (slow link): the backlog holds them.
    if (connection.bufferedBytes > 4 * 1024 * 1024) return;
    while (this.backlog.length > 0) {
      const reports: GroupReport[] = [];
      while (reports.length < MAX_GROUPS_PER_BATCH && this.backlog.length > 0) reports.push(this.backlog.shift()!);
      const batch = this.batch++;
      this.inFlight.push({ batch, reports });
      this.inFlightReports += reports.length;
      this.send(connection, { type: 'groups', batch, groups: reports, backlogDropped: this.backlogDropped });
    }
  }

  private heartbeat(): void {
    this.nowMs += this.options.heartbeatMs ?? 1000;
    const connection = this.connection;
    if (!connection) return;
    if (this.nowMs - this.lastHeardMs > (this.options.heartbeatTimeoutMs ?? 3000)) {
      // Silent server (partition): drop the connection; onClose schedules the reconnect.
      connection.abort(`no message from the server for ${this.options.heartbeatTimeoutMs ?? 3000} ms`);
      return;
    }
    if (!this.welcomed) return;
    const id = this.pingId++;
    const t1 = this.options.clock.nowNs();
    this.pings.set(id, t1);
    if (this.pings.size > 16) this.pings.delete(this.pings.keys().next().value!);
    this.send(connection, { type: 'ping', id, t1: formatInstantNs(t1) });
  }

  private sendNow(message: NodeMessage): void {
    if (this.connection && this.welcomed) this.send(this.connection, message);
  }

  private send(connection: MessageConnection, message: NodeMessage): void {
    connection.send(encodeMessage(message));
  }

  private nextBackoff(): number {
    const b = this.options.backoff ?? {};
    const base = Math.min(b.maxMs ?? 10_000, (b.initialMs ?? 250) * 2 ** this.attempt);
    this.attempt++;
    const jitter = b.jitter ?? 0.2;
    return Math.round(base * (1 - jitter + 2 * jitter * this.random.next()));
  }

  private later(ms: number, fn: () => void): void {
    const handle = this.timers.setTimeout(() => {
      this.timersSet = this.timersSet.filter((t) => t !== handle);
      if (this.running) fn();
    }, ms);
    this.timersSet.push(handle);
  }

  private every(ms: number, fn: () => void): void {
    const tick = () => {
      if (!this.running) return;
      fn();
      this.later(ms, tick);
    };
    this.later(ms, tick);
  }
}
