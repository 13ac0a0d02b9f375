import {
  type CameraSpec,
  type Clock,
  createPolicy,
  type DiscardReason,
  type ErrorSink,
  errorMessage,
  type Frame,
  type FrameGroup,
  type GroupingPolicy,
  Listeners,
  linearRegression,
  medianPhaseNs,
  NS_PER_S,
  type PolicyConfig,
  parseInstantNs,
  periodNsFromFps,
  phaseOfNs,
  type Timers,
  timingFrame,
  type Unsubscribe,
  wrapPhaseNs,
} from '@syncap/core';
import { RingQueue } from '@syncap/core/internal';
import { globalCameraId } from './camera-id.js';
import { LogBudget } from './log-budget.js';
import type { MessageConnection } from './message-connection.js';
import {
  type AdjustCommand,
  type CameraAnnounce,
  CloseCodes,
  clip,
  decodeMessage,
  encodeMessage,
  type GroupsMessage,
  type HelloMessage,
  MAX_HELLO_BYTES,
  MAX_MESSAGE_BYTES,
  nodeMessageSchema,
  type PhaseLockMessage,
  PROTOCOL_VERSION,
  ProtocolError,
  type PtpState,
  type ServerMessage,
} from './protocol.js';
import { decodeThumbnailMessage, MAX_THUMBNAIL_BYTES, type ReceivedThumbnail } from './thumbnail-message.js';
import { tokensMatch } from './token.js';

export interface SyncServerOptions {
  /** Nodes must present this token in their hello. */
  readonly token: string;
  /** The rig timebase (PTP-disciplined realtime, or the server's own clock as the fallback). */
  readonly clock: Clock;
  /** Timers for idle deadlines and the policy tick (the host's, or virtual ones). */
  readonly timers: Timers;
  /** How global groups are formed across nodes. Default: window, 1 ms tolerance, 1 s max wait (node reports arrive in batches). */
  readonly policy?: PolicyConfig;
  /**
   * Send shift-phase commands to nodes whose residual phase (against the reference)
   * exceeds `phaseToleranceNs`. Off by default: nodes lock to the PTP grid themselves,
   * and a second loop on top fights theirs while they settle. Turn it on for nodes
   * without PTP (channel-offset timebase) or without phase lock.
   */
  readonly adjust?: boolean;
  /** Residual phase beyond which a node is told to shift its grid phase, ns. Default 100 µs. */
  readonly phaseToleranceNs?: number;
  /** Minimum time between adjustment commands to one node, ms. Default 2000. */
  readonly adjustCooldownMs?: number;
  /** The node other nodes' phase is measured against. Default: the best PTP state, then the first connected. */
  readonly referenceNodeId?: string;
  /** Nodes at most (connected and reconnecting); more are refused. Default 256. */
  readonly maxNodes?: number;
  /** A node that sends nothing for this long is closed, ms. Default 10 000. */
  readonly idleTimeoutMs?: number;
  /** A connection that has not said hello within this long is closed, ms. Default 5000. */
  readonly helloTimeoutMs?: number;
  /** Connections waiting for their hello at most; past this the one that waited longest is refused (counted, logged). Default 64. */
  readonly maxPendingHellos?: number;
  /**
   * A node whose connection dropped without a clean close is kept this long, so that it can
   * reconnect (its cameras stay in the global set), then forgotten, ms. Default 10 000. A node
   * that closes normally has left: its cameras leave at once.
   */
  readonly reconnectGraceMs?: number;
  /** Departed nodes status() lists (the latest). Default 16. */
  readonly departedListed?: number;
  /**
   * Reports further than this from the server's clock, ahead or behind, are rejected and
   * counted (discard reasons `ahead`, `behind`): a node with a wild clock cannot move the
   * global policy's time, ns. Default 5 s. Reports ahead by less are held until the server's
   * clock reaches them, so that no node's clock runs the global policy ahead of the others.
   */
  readonly maxReportSkewNs?: number;
  /**
   * A connection silent this long counts as dead: a new connection with the same node id (but
   * another session) may then replace it; before, it is refused, ms. Default 3000 (nodes ping
   * every second).
   */
  readonly deadAfterMs?: number;
  /** Channel-offset disagreement with a node's PTP claim that flags it, ns. Default 1 ms. */
  readonly ptpDisagreementNs?: number;
  /** Where errors thrown by event listeners go. */
  readonly onListenerError?: ErrorSink;
  /** The status log: connections, rejections, reference changes, adjustments. */
  readonly log?: (level: 'info' | 'warn', message: string, fields?: Record<string, unknown>) => void;
}

/** What the server knows about one node. */
export interface NodeStatus {
  readonly nodeId: string;
  /** connected; reconnecting (dropped without a clean close, kept for the grace period); departed (left, or forgotten). */
  readonly state: 'connected' | 'reconnecting' | 'departed';
  readonly connected: boolean;
  readonly remote: string;
  readonly cameras: readonly CameraAnnounce[];
  readonly groupsReceived: number;
  readonly backlogDropped: number;
  readonly drops: Readonly<Record<string, number>>;
  /** Frames reported per camera, since the node's first hello (rates come from its changes). */
  readonly framesReported: Readonly<Record<string, number>>;
  readonly ptp: { state: PtpState; offsetNs?: number; rmsNs?: number; freqPpb?: number; pathDelayNs?: number };
  readonly channelOffsetNs?: number;
  readonly channelErrorNs?: number;
  /** PTP says locked but the channel measurement disagrees beyond the threshold. */
  readonly ptpDisagrees: boolean;
  /** Median phase of the node's groups against the grid of its first camera's period, ns. */
  readonly phaseNs?: number;
  /** Phase relative to the reference node, wrapped to ±T/2, ns. */
  readonly residualPhaseNs?: number;
  /** Drift of the residual phase, ppm. */
  readonly driftPpm?: number;
  /** What the node says of its phase lock (absent until it says). */
  readonly phaseLock?: { readonly enabled: boolean; readonly locked: number; readonly cameras: number };
  readonly adjustmentsSent: number;
  /** Group reports rejected for instants too far from the server's clock (ahead or behind). */
  readonly reportsRejected: number;
  /** Connections of this node replaced by a newer one (its own reconnects, or a dead one taken over). */
  readonly replacements: number;
}

/** Why the global policy, or the server before it, discarded a frame. */
export type GlobalDiscardReason = DiscardReason | 'ahead' | 'behind';

export type SyncServerEvent =
  | { readonly type: 'node-connected'; readonly nodeId: string; readonly remote: string }
  /** `state` says what became of the node: departed (a clean close) or reconnecting (kept for the grace period). */
  | { readonly type: 'node-disconnected'; readonly nodeId: string; readonly code: number; readonly reason: string; readonly state: 'reconnecting' | 'departed' }
  /** A reconnecting node did not come back within the grace period: it is gone, its cameras too. */
  | { readonly type: 'node-forgotten'; readonly nodeId: string }
  /** A new connection took a node id over from an older one (the same session, or the old one was dead). */
  | { readonly type: 'node-replaced'; readonly nodeId: string; readonly remote: string; readonly why: string }
  /** A connection was closed for what it sent (or did not send); `reason` is cut to a small bound. */
  | { readonly type: 'rejected'; readonly remote: string; readonly code: number; readonly reason: string }
  | { readonly type: 'global-group'; readonly group: FrameGroup; readonly latencyNs: number }
  /** The global policy discarded a reported frame (`node/camera`), and why. */
  | { readonly type: 'discarded'; readonly cameraId: string; readonly seq: number; readonly rigTimeNs: bigint; readonly reason: GlobalDiscardReason }
  | { readonly type: 'adjustment'; readonly nodeId: string; readonly command: AdjustCommand }
  | { readonly type: 'reference'; readonly nodeId: string | undefined }
  /**
   * A node sent the latest thumbnail of one of its cameras (checked: its camera, a JPEG of a
   * thumbnail's size). `thumbnail.jpeg` is a view into the message: copy what is kept.
   */
  | { readonly type: 'thumbnail'; readonly nodeId: string; readonly thumbnail: ReceivedThumbnail };

interface NodeState {
  nodeId: string;
  state: 'connected' | 'reconnecting';
  connection: MessageConnection | undefined;
  remote: string;
  cameras: CameraAnnounce[];
  /** The announced camera ids (checked on every report; changes only with a new hello). */
  cameraIds: Set<string>;
  periodNs: number;
  lastBatch: number;
  lastAckedBatch: number;
  lastAckMs: number;
  lastGroupId: number;
  /** The node process's session (report ids count from 0 in each). */
  session: string | undefined;
  groupsReceived: number;
  backlogDropped: number;
  drops: Record<string, number>;
  framesReported: Record<string, number>;
  ptp: NodeStatus['ptp'];
  channelOffsetNs?: number;
  channelErrorNs?: number;
  /** Relative times keep regression inputs exact (instants exceed 2^53 ns). */
  epochNs?: bigint;
  phases: { tNs: number; phaseNs: number }[];
  lastAdjustMs: number;
  adjustmentsSent: number;
  idleTimer: unknown;
  /** Forgets the node when the reconnect grace period ends. */
  graceTimer: unknown;
  /** When the current connection last sent something (server clock). */
  lastHeardNs: bigint;
  phaseLock: NodeStatus['phaseLock'];
  /** Reports a little ahead of the server's clock, waiting for it (see maxReportSkewNs). */
  held: RingQueue<{ latestNs: bigint; frames: Frame[] }>;
  reportsRejected: number;
  lastSkewLogNs: bigint | undefined;
  replacements: number;
}

const PHASE_WINDOW = 64;
/** A report at most this far ahead of the server's clock goes to the global policy at once, ns. */
const AHEAD_SLACK_NS = 50_000_000n;
/** Reports held per node at most (ahead of the server's clock); older ones are dropped as `ahead`. */
const MAX_HELD_GROUPS = 2048;
/** Rejection reasons by close code: the label of syncap_connections_rejected_total. */
const REJECTION_REASONS: Record<number, string> = {
  [CloseCodes.badFrame]: 'bad-frame',
  [CloseCodes.badText]: 'bad-text',
  [CloseCodes.tooLarge]: 'too-large',
  [CloseCodes.busy]: 'busy',
  [CloseCodes.malformed]: 'malformed',
  [CloseCodes.unauthorized]: 'unauthorized',
  [CloseCodes.protocol]: 'protocol',
  [CloseCodes.timeout]: 'timeout',
  [CloseCodes.nodeIdInUse]: 'node-id-in-use',
  [CloseCodes.full]: 'full',
};
/** Closes the transport itself makes for what a peer sent (a frame over the size limit, bad UTF-8, a bad frame). */
const TRANSPORT_REJECTIONS: ReadonlySet<number> = new Set([CloseCodes.badFrame, CloseCodes.badText, CloseCodes.tooLarge]);

/** The label a rejection is counted under. */
export function rejectionReason(code: number): string {
  return REJECTION_REASONS[code] ?? 'other';
}
const PTP_RANK: Record<PtpState, number> = { master: 0, slave: 1, uncalibrated: 2, listening: 3, unknown: 4, faulty: 5, absent: 6 };

/**
 * The sync server. Seed: `sync_server` — done as DESIGN §4 says: nodes stream
 * group metadata; the server forms global groups with core's policies, tracks
 * each node's residual phase and drift against a reference, and sends
 * adjustment commands. Transport-agnostic: `accept()` any MessageConnection.
 *
 * Hostile and careless peers are bounded (DESIGN §9): a connection must say hello
 * within a deadline and only so many may wait; what a peer sent is repeated cut short;
 * reports far from the server's clock are rejected; a connected node id is not taken
 * over by another process; nodes that leave are forgotten (at once when they close
 * cleanly, after a grace period when they drop).
 */
export class SyncServer {
  private readonly nodes = new Map<string, NodeState>();
  /** The latest departed nodes, for status() (bounded). */
  private departed: NodeStatus[] = [];
  private readonly events: Listeners<SyncServerEvent>;
  private readonly timers: Timers;
  private policy: GroupingPolicy | undefined;
  private policyCameras: string[] = [];
  private readonly policyConfig: PolicyConfig;
  private reference: string | undefined;
  /** Time of the latest global group emitted, and the floor below which reports are late (set when the policy restarts). */
  private lastEmittedNs: bigint | undefined;
  private floorNs: bigint | undefined;
  private tickHandle: unknown;
  private closed = false;
  /** Connections that have not said hello yet (oldest first), with their hello deadline and how to refuse them. */
  private readonly pending = new Map<MessageConnection, { timer: unknown; refuse: (code: number, reason: string) => void }>();
  /** Connections the server closed itself (their close is not the node's doing). */
  private readonly closedByServer = new WeakSet<MessageConnection>();
  /** Rejections are logged one by one up to a budget; a flood is summed up. */
  private readonly rejectionLog = new LogBudget();
  /** The hello cap being hit is said on its own line, at most once per 10 s. */
  private readonly capLog = new LogBudget(1, 10_000);
  private readonly skewNs: bigint;
  /**
   * Global groups formed, incomplete among them, frames reported and discarded (by reason),
   * connections rejected (by reason, see rejectionReason), node connections replaced, nodes
   * that departed (clean close) or were forgotten (grace period over), reports skipped
   * as already received (resent after a reconnect), and thumbnails accepted (and their bytes).
   */
  readonly counters = {
    globalGroups: 0,
    incompleteGlobalGroups: 0,
    framesReported: 0,
    discarded: {} as Partial<Record<GlobalDiscardReason, number>>,
    rejected: 0,
    rejectedByReason: {} as Record<string, number>,
    replaced: 0,
    departed: 0,
    forgotten: 0,
    duplicateReports: 0,
    thumbnails: 0,
    thumbnailBytes: 0,
  };

  constructor(private readonly options: SyncServerOptions) {
    this.timers = options.timers;
    this.events = new Listeners(options.onListenerError);
    this.policyConfig = options.policy ?? { name: 'window', toleranceNs: 1_000_000, maxWaitNs: NS_PER_S };
    this.skewNs = BigInt(Math.round(options.maxReportSkewNs ?? 5 * NS_PER_S));
    const log = options.log;
    if (log) {
      this.events.add((e) => {
        if (e.type === 'node-connected') log('info', `node ${e.nodeId} connected`, { remote: e.remote });
        else if (e.type === 'node-disconnected')
          log('warn', `node ${e.nodeId} ${e.state === 'departed' ? 'left' : 'disconnected; kept while it reconnects'}`, { code: e.code, reason: e.reason });
        else if (e.type === 'node-forgotten') log('warn', `node ${e.nodeId} did not reconnect within ${this.graceMs} ms: forgotten`);
        else if (e.type === 'node-replaced') log('warn', `node ${e.nodeId}: a new connection replaced the old one (${e.why})`, { remote: e.remote });
        else if (e.type === 'rejected') {
          if (this.rejectionLog.admit(this.nowMs())) log('warn', `rejected a connection: ${e.reason}`, { remote: e.remote, code: e.code });
        } else if (e.type === 'reference') log('info', `reference node is now ${e.nodeId ?? 'none'}`);
        else if (e.type === 'adjustment') log('info', `told ${e.nodeId} to ${e.command.kind}`, { command: e.command });
      });
    }
    this.scheduleTick();
  }

  onEvent(listener: (event: SyncServerEvent) => void): Unsubscribe {
    return this.events.add(listener);
  }

  /** Takes a new connection: it must say hello (with the token) before anything else, within the hello deadline. */
  accept(connection: MessageConnection): void {
    if (this.closed) {
      this.closeConnection(connection, CloseCodes.shutdown, 'server is shutting down');
      return;
    }
    let node: NodeState | undefined;
    const settle = () => {
      if (!this.pending.has(connection)) return;
      this.timers.clearTimeout(this.pending.get(connection)!.timer);
      this.pending.delete(connection);
    };
    const reject = (code: number, reason: string) => {
      const waiting = this.pending.has(connection);
      settle();
      this.countRejection(connection.remote, code, reason);
      this.send(connection, { type: 'error', code: String(code), message: clip(reason) });
      // One that never said hello gets no closing handshake (a flood would hold a descriptor per connection
      // meanwhile): the error is on its way, the socket goes now. A node that was welcomed is closed politely.
      if (waiting) {
        this.closedByServer.add(connection);
        connection.abort(clip(reason, 120));
      } else this.closeConnection(connection, code, reason);
    };
    const maxPending = this.options.maxPendingHellos ?? 64;
    if (this.pending.size >= maxPending) {
      // The oldest waiting connection has had the longest to say hello: it goes, and the newcomer gets its chance
      // (a node says hello at once; a flood of silent connections only evicts itself).
      if (this.capLog.admit(this.nowMs()))
        this.options.log?.(
          'warn',
          `${maxPending} connections are waiting for their hello (the cap): refusing the oldest as new ones come (a flood of silent connections?)`,
        );
      const [oldest] = this.pending.values();
      oldest!.refuse(CloseCodes.busy, `server busy: ${maxPending} connections were waiting for their hello; this one waited longest`);
    }
    const helloTimeoutMs = this.options.helloTimeoutMs ?? 5000;
    this.pending.set(connection, {
      timer: this.timers.setTimeout(() => {
        if (this.pending.has(connection)) reject(CloseCodes.timeout, `no hello within ${helloTimeoutMs} ms`);
      }, helloTimeoutMs),
      refuse: reject,
    });
    const refuse = (error: unknown) => {
      if (error instanceof ProtocolError) reject(error.closeCode, error.message);
      else reject(CloseCodes.protocol, `internal error handling a message: ${errorMessage(error)}`);
    };
    connection.onBinary((bytes) => {
      if (!connection.open) return;
      try {
        // Only a node that said hello (with the token) may send pixels, and only of its own cameras.
        if (!node) throw new ProtocolError('expected hello first, got a binary message', CloseCodes.protocol);
        this.touch(node);
        const thumbnail = decodeThumbnailMessage(bytes);
        if (!node.cameraIds.has(thumbnail.cameraId))
          throw new ProtocolError(`thumbnail of camera "${thumbnail.cameraId}", which the node did not announce`, CloseCodes.protocol);
        this.counters.thumbnails++;
        this.counters.thumbnailBytes += thumbnail.jpeg.byteLength;
        this.events.emit({ type: 'thumbnail', nodeId: node.nodeId, thumbnail });
      } catch (error) {
        refuse(error);
      }
    });
    connection.onMessage((text) => {
      if (!connection.open) return;
      try {
        // Until it has said hello, a peer is held to the size of a hello.
        const message = decodeMessage(text, nodeMessageSchema, node ? MAX_MESSAGE_BYTES : MAX_HELLO_BYTES);
        if (!node) {
          if (message.type !== 'hello') throw new ProtocolError(`expected hello first, got "${message.type}"`, CloseCodes.protocol);
          node = this.onHello(connection, message);
          settle();
          // Welcome only once `node` is set: on a synchronous transport the node answers inside send().
          this.welcome(connection, node);
          return;
        }
        this.touch(node);
        switch (message.type) {
          case 'hello':
            throw new ProtocolError('hello sent twice', CloseCodes.protocol);
          case 'groups':
            this.onGroups(node, message);
            return;
          case 'ptp':
            node.ptp = { state: message.state, offsetNs: message.offsetNs, rmsNs: message.rmsNs, freqPpb: message.freqPpb, pathDelayNs: message.pathDelayNs };
            node.channelOffsetNs = message.channelOffsetNs;
            node.channelErrorNs = message.channelErrorNs;
            this.chooseReference();
            return;
          case 'drops':
            node.drops = { ...message.byCamera };
            return;
          case 'phase-lock':
            this.onPhaseLock(node, message);
            return;
          case 'ping': {
            const t2 = this.options.clock.nowNs();
            this.send(connection, { type: 'pong', id: message.id, t1: message.t1, t2: t2.toString(), t3: this.options.clock.nowNs().toString() });
            return;
          }
        }
      } catch (error) {
        refuse(error);
      }
    });
    connection.onClose((code, reason) => {
      settle();
      // The transport closed it for what the peer sent (a message over the size limit): a rejection like any other.
      if (TRANSPORT_REJECTIONS.has(code) && !this.closedByServer.has(connection)) this.countRejection(connection.remote, code, reason);
      if (!node || node.connection !== connection) return;
      node.connection = undefined;
      this.timers.clearTimeout(node.idleTimer);
      // A node that closes normally has left; one whose connection dropped (or that the server closed) may come back.
      const left = !this.closedByServer.has(connection) && (code === CloseCodes.normal || code === CloseCodes.shutdown);
      this.events.emit({ type: 'node-disconnected', nodeId: node.nodeId, code, reason: clip(reason), state: left ? 'departed' : 'reconnecting' });
      if (left) this.depart(node);
      else if (!this.closed) {
        node.state = 'reconnecting';
        const gone = node;
        gone.graceTimer = this.timers.setTimeout(() => {
          if (this.nodes.get(gone.nodeId) !== gone || gone.connection) return;
          this.counters.forgotten++;
          this.events.emit({ type: 'node-forgotten', nodeId: gone.nodeId });
          this.depart(gone);
        }, this.graceMs);
      }
      this.chooseReference();
    });
  }

  /** Nodes (connected, reconnecting, then the latest departed), the reference and the counters. */
  status(): { nodes: NodeStatus[]; reference: string | undefined; counters: SyncServer['counters'] } {
    return { nodes: [...[...this.nodes.values()].map((n) => this.nodeStatus(n)), ...this.departed], reference: this.reference, counters: this.counters };
  }

  /** Emits pending global groups and closes every connection. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.timers.clearTimeout(this.tickHandle);
    this.policy?.flush();
    for (const [connection, { timer }] of this.pending) {
      this.timers.clearTimeout(timer);
      this.closeConnection(connection, CloseCodes.shutdown, 'server shutting down');
    }
    this.pending.clear();
    for (const n of this.nodes.values()) {
      this.timers.clearTimeout(n.idleTimer);
      this.timers.clearTimeout(n.graceTimer);
      if (n.connection) this.closeConnection(n.connection, CloseCodes.shutdown, 'server shutting down');
    }
  }

  private get graceMs(): number {
    return this.options.reconnectGraceMs ?? 10_000;
  }

  private nowMs(): number {
    return Number(this.options.clock.nowNs() / 1_000_000n);
  }

  private countRejection(remote: string, code: number, reason: string): void {
    this.counters.rejected++;
    const label = rejectionReason(code);
    this.counters.rejectedByReason[label] = (this.counters.rejectedByReason[label] ?? 0) + 1;
    this.events.emit({ type: 'rejected', remote, code, reason: clip(reason) });
  }

  private closeConnection(connection: MessageConnection, code: number, reason: string): void {
    this.closedByServer.add(connection);
    connection.close(code, clip(reason, 120));
  }

  private onHello(connection: MessageConnection, hello: HelloMessage): NodeState {
    if (!tokensMatch(hello.token, this.options.token)) throw new ProtocolError('unauthorized: bad token', CloseCodes.unauthorized);
    if (hello.v !== PROTOCOL_VERSION)
      throw new ProtocolError(`protocol version ${hello.v} not supported (server speaks ${PROTOCOL_VERSION})`, CloseCodes.protocol);
    let node = this.nodes.get(hello.nodeId);
    const maxNodes = this.options.maxNodes ?? 256;
    if (!node && this.nodes.size >= maxNodes) throw new ProtocolError(`server is full (${maxNodes} nodes connected or reconnecting)`, CloseCodes.full);
    const now = this.options.clock.nowNs();
    if (node?.connection) {
      // Only the node's own process (same session) may replace a live connection; a dead one may be taken over.
      const old = node.connection;
      const sameSession = hello.session !== undefined && hello.session === node.session;
      const silentMs = Number(now - node.lastHeardNs) / 1e6;
      const deadAfterMs = this.options.deadAfterMs ?? 3000;
      if (!sameSession && old.open && silentMs < deadAfterMs)
        throw new ProtocolError(
          `node id "${hello.nodeId}" is connected, and this is not its reconnect (another session); ` +
            `give this node its own --node-id, or wait until the other connection has been silent for ${deadAfterMs} ms`,
          CloseCodes.nodeIdInUse,
        );
      const why = sameSession ? 'the same session reconnected' : `the old connection was silent for ${Math.round(silentMs)} ms`;
      node.connection = undefined; // its close is not a disconnect of the node
      this.timers.clearTimeout(node.idleTimer);
      this.closeConnection(old, CloseCodes.replaced, 'replaced by a new connection from the same node');
      node.replacements++;
      this.counters.replaced++;
      this.events.emit({ type: 'node-replaced', nodeId: node.nodeId, remote: connection.remote, why });
    }
    if (!node) {
      node = {
        nodeId: hello.nodeId,
        state: 'connected',
        connection,
        remote: connection.remote,
        cameras: hello.cameras,
        cameraIds: new Set(hello.cameras.map((c) => c.id)),
        periodNs: periodNsFromFps(hello.cameras[0]!.fps),
        lastBatch: -1,
        lastAckedBatch: -1,
        lastAckMs: 0,
        lastGroupId: -1,
        session: hello.session,
        groupsReceived: 0,
        backlogDropped: 0,
        drops: {},
        framesReported: {},
        ptp: { state: 'unknown' },
        phases: [],
        lastAdjustMs: Number.NEGATIVE_INFINITY,
        adjustmentsSent: 0,
        idleTimer: undefined,
        graceTimer: undefined,
        lastHeardNs: now,
        phaseLock: undefined,
        held: new RingQueue(4),
        reportsRejected: 0,
        lastSkewLogNs: undefined,
        replacements: 0,
      };
      this.nodes.set(hello.nodeId, node);
      this.departed = this.departed.filter((d) => d.nodeId !== hello.nodeId);
    } else {
      this.timers.clearTimeout(node.graceTimer);
      node.state = 'connected';
      node.connection = connection;
      node.remote = connection.remote;
      node.cameras = hello.cameras;
      node.cameraIds = new Set(hello.cameras.map((c) => c.id));
      node.periodNs = periodNsFromFps(hello.cameras[0]!.fps);
      node.lastBatch = -1; // batch numbers are per connection
      node.lastAckedBatch = -1;
      if (hello.session === undefined || hello.session !== node.session) {
        // A restarted node process: its report ids start again from 0, and its phase history is void.
        node.session = hello.session;
        node.lastGroupId = -1;
        node.phases = [];
        node.epochNs = undefined;
        node.phaseLock = undefined;
      }
    }
    this.ensurePolicyCovers();
    this.touch(node);
    return node;
  }

  private welcome(connection: MessageConnection, node: NodeState): void {
    this.send(connection, {
      type: 'welcome',
      v: PROTOCOL_VERSION,
      nodeId: node.nodeId,
      // A node sends thumbnails only to a server that says it takes them, and how large.
      config: { phaseToleranceNs: this.options.phaseToleranceNs ?? 100_000, maxThumbnailBytes: MAX_THUMBNAIL_BYTES },
    });
    this.events.emit({ type: 'node-connected', nodeId: node.nodeId, remote: connection.remote });
    this.chooseReference();
  }

  /** The node has left (a clean close) or is forgotten (the grace period ended): its cameras leave the global set. */
  private depart(node: NodeState): void {
    this.timers.clearTimeout(node.graceTimer);
    this.timers.clearTimeout(node.idleTimer);
    // Reports it had waiting for the server's clock will never be grouped.
    for (let h = node.held.shift(); h; h = node.held.shift()) for (const f of h.frames) this.discard(f.cameraId, f.seq, f.rigTimeNs, 'ahead');
    this.counters.departed++;
    this.nodes.delete(node.nodeId);
    this.departed.push({ ...this.nodeStatus(node), state: 'departed', connected: false, residualPhaseNs: undefined, driftPpm: undefined });
    const listed = this.options.departedListed ?? 16;
    if (this.departed.length > listed) this.departed.splice(0, this.departed.length - listed);
    this.ensurePolicyCovers();
    this.chooseReference();
  }

  private onPhaseLock(node: NodeState, message: PhaseLockMessage): void {
    node.phaseLock = { enabled: message.enabled, locked: Math.min(message.locked, node.cameras.length), cameras: node.cameras.length };
    this.chooseReference();
  }

  private onGroups(node: NodeState, message: GroupsMessage): void {
    if (message.batch <= node.lastBatch) throw new ProtocolError(`batch ${message.batch} is out of order (last was ${node.lastBatch})`, CloseCodes.protocol);
    node.lastBatch = message.batch;
    node.backlogDropped = message.backlogDropped;
    const nowNs = this.options.clock.nowNs();
    this.releaseHeld(node, nowNs);
    for (const g of message.groups) {
      // Batches that were sent but not acknowledged before a reconnect come again: skip what we have.
      if (g.id <= node.lastGroupId) {
        this.counters.duplicateReports++;
        continue;
      }
      node.lastGroupId = g.id;
      node.groupsReceived++;
      const tNs = parseInstantNs(g.t);
      let earliestNs = tNs;
      let latestNs = tNs;
      const frames: Frame[] = [];
      for (const [cam, f] of Object.entries(g.frames)) {
        if (!node.cameraIds.has(cam)) throw new ProtocolError(`group ${g.id} names camera "${cam}", which the node did not announce`, CloseCodes.protocol);
        this.counters.framesReported++;
        node.framesReported[cam] = (node.framesReported[cam] ?? 0) + 1;
        const frame = timingFrame(globalCameraId(node.nodeId, cam), f.seq, parseInstantNs(f.t));
        if (frame.rigTimeNs < earliestNs) earliestNs = frame.rigTimeNs;
        if (frame.rigTimeNs > latestNs) latestNs = frame.rigTimeNs;
        frames.push(frame);
      }
      // A report far from the server's clock says the node's clock is wrong (or a hostile one): it must not move global time.
      const ahead = latestNs - nowNs > this.skewNs;
      if (ahead || nowNs - earliestNs > this.skewNs) {
        this.rejectReport(node, frames, ahead ? 'ahead' : 'behind', ahead ? latestNs - nowNs : earliestNs - nowNs, nowNs);
        continue;
      }
      node.epochNs ??= tNs;
      node.phases.push({ tNs: Number(tNs - node.epochNs), phaseNs: phaseOfNs(tNs, node.periodNs) });
      if (node.phases.length > PHASE_WINDOW) node.phases.shift();
      if (node.held.length > 0 || latestNs > nowNs + AHEAD_SLACK_NS) this.hold(node, latestNs, frames);
      else this.pushFrames(frames);
    }
    // Acks are coalesced (every 8th batch, or after 50 ms): one write per message costs more
    // than the grouping. Unacknowledged batches stay in the node's bounded in-flight list.
    const nowMs = Number(nowNs / 1_000_000n);
    if (message.batch - node.lastAckedBatch >= 8 || nowMs - node.lastAckMs >= 50 || node.lastAckedBatch < 0) {
      node.lastAckedBatch = message.batch;
      node.lastAckMs = nowMs;
      this.send(node.connection!, { type: 'ack', batch: message.batch });
    }
    this.maybeAdjust(node);
  }

  private pushFrames(frames: readonly Frame[]): void {
    for (const frame of frames) {
      // Global groups come out in time order, across policy restarts too (a node joined with a backlog).
      if (this.floorNs !== undefined && frame.rigTimeNs <= this.floorNs) this.discard(frame.cameraId, frame.seq, frame.rigTimeNs, 'late');
      else this.policy!.push(frame);
    }
  }

  /** A report a little ahead of the server's clock waits for it: the global policy's time never runs ahead of the server's. */
  private hold(node: NodeState, latestNs: bigint, frames: Frame[]): void {
    if (node.held.length >= MAX_HELD_GROUPS) {
      const dropped = node.held.shift()!;
      for (const f of dropped.frames) this.discard(f.cameraId, f.seq, f.rigTimeNs, 'ahead');
    }
    node.held.push({ latestNs, frames });
  }

  private releaseHeld(node: NodeState, nowNs: bigint): void {
    for (let h = node.held.peek(); h && h.latestNs <= nowNs + AHEAD_SLACK_NS; h = node.held.peek()) this.pushFrames(node.held.shift()!.frames);
  }

  private rejectReport(node: NodeState, frames: readonly Frame[], reason: 'ahead' | 'behind', offsetNs: bigint, nowNs: bigint): void {
    node.reportsRejected++;
    for (const f of frames) this.discard(f.cameraId, f.seq, f.rigTimeNs, reason);
    // Said once per node per 10 s: a node with a wrong clock sends many.
    if (node.lastSkewLogNs === undefined || nowNs - node.lastSkewLogNs >= 10n * BigInt(NS_PER_S)) {
      node.lastSkewLogNs = nowNs;
      const seconds = Number(offsetNs) / NS_PER_S;
      this.options.log?.(
        'warn',
        `node ${node.nodeId} reported an instant ${Math.abs(seconds).toPrecision(3)} s ${reason} of the server's clock ` +
          `(bound ${Number(this.skewNs) / NS_PER_S} s): rejected, with ${node.reportsRejected} so far; check the node's clock (PTP)`,
      );
    }
  }

  private ensurePolicyCovers(): void {
    const cameras = [...this.nodes.values()].flatMap((n) => n.cameras.map((c) => ({ id: globalCameraId(n.nodeId, c.id), fps: c.fps })));
    const ids = cameras.map((c) => c.id);
    if (ids.length === this.policyCameras.length && ids.every((id, i) => id === this.policyCameras[i])) return;
    // The camera set changed (a node joined or left): finish what the old policy holds, start a new one.
    // The new one knows nothing of what was emitted: frames up to the last group's time are late.
    this.policy?.flush();
    this.floorNs = this.lastEmittedNs;
    this.policyCameras = ids;
    this.policy =
      cameras.length === 0
        ? undefined
        : createPolicy(this.policyConfig, cameras satisfies CameraSpec[], {
            group: (g) => this.onGlobalGroup(g),
            discard: (f, reason) => this.discard(f.cameraId, f.seq, f.rigTimeNs, reason),
          });
  }

  private discard(cameraId: string, seq: number, rigTimeNs: bigint, reason: GlobalDiscardReason): void {
    this.counters.discarded[reason] = (this.counters.discarded[reason] ?? 0) + 1;
    this.events.emit({ type: 'discarded', cameraId, seq, rigTimeNs, reason });
  }

  private onGlobalGroup(group: FrameGroup): void {
    if (this.lastEmittedNs === undefined || group.timeNs > this.lastEmittedNs) this.lastEmittedNs = group.timeNs;
    this.counters.globalGroups++;
    if (!group.complete) this.counters.incompleteGlobalGroups++;
    const latencyNs = Number(this.options.clock.nowNs() - group.timeNs);
    this.events.emit({ type: 'global-group', group, latencyNs });
  }

  private nodePhase(node: NodeState): number | undefined {
    return node.phases.length < 4
      ? undefined
      : medianPhaseNs(
          node.phases.map((p) => p.phaseNs),
          node.periodNs,
        );
  }

  private residual(node: NodeState): number | undefined {
    const ref = this.reference ? this.nodes.get(this.reference) : undefined;
    const mine = this.nodePhase(node);
    if (!ref || mine === undefined || !node.connection) return undefined;
    if (ref === node) return 0;
    const theirs = this.nodePhase(ref);
    return theirs === undefined ? undefined : wrapPhaseNs(mine - theirs, node.periodNs);
  }

  private maybeAdjust(node: NodeState): void {
    if (!this.options.adjust) return;
    const residual = this.residual(node);
    if (residual === undefined || node.nodeId === this.reference) return;
    const tolerance = this.options.phaseToleranceNs ?? 100_000;
    const nowMs = this.nowMs();
    if (Math.abs(residual) <= tolerance || nowMs - node.lastAdjustMs < (this.options.adjustCooldownMs ?? 2000)) return;
    node.lastAdjustMs = nowMs;
    node.adjustmentsSent++;
    node.phases.length = 0; // measure afresh after the node applies it
    const command: AdjustCommand = { type: 'adjust', kind: 'shift-phase', offsetNs: -residual };
    this.send(node.connection!, command);
    this.events.emit({ type: 'adjustment', nodeId: node.nodeId, command });
  }

  /**
   * How fit a node is to be the reference, lower is better: connected nodes whose cameras are
   * phase-locked to the grid first (then those that do not say, then those that are not), and
   * among them the best PTP state.
   */
  private referenceRank(n: NodeState): number {
    const lock = n.phaseLock;
    const lockTier = lock === undefined ? 1 : lock.enabled && lock.locked >= n.cameras.length ? 0 : 2;
    return lockTier * 10 + (PTP_RANK[n.ptp.state] <= 1 ? 0 : PTP_RANK[n.ptp.state]);
  }

  private chooseReference(): void {
    const connected = [...this.nodes.values()].filter((n) => n.connection);
    let next: string | undefined;
    if (this.options.referenceNodeId && connected.some((n) => n.nodeId === this.options.referenceNodeId)) next = this.options.referenceNodeId;
    else {
      const best = Math.min(...connected.map((n) => this.referenceRank(n)));
      const current = connected.find((n) => n.nodeId === this.reference);
      // The reference stays while it is as fit as any: switching moves every residual.
      next = current && this.referenceRank(current) === best ? current.nodeId : connected.find((n) => this.referenceRank(n) === best)?.nodeId;
    }
    if (next !== this.reference) {
      this.reference = next;
      this.events.emit({ type: 'reference', nodeId: next });
    }
  }

  private nodeStatus(n: NodeState): NodeStatus {
    const locked = n.ptp.state === 'slave' || n.ptp.state === 'master';
    const disagreement = this.options.ptpDisagreementNs ?? 1_000_000;
    const ptpDisagrees = locked && n.channelOffsetNs !== undefined && Math.abs(n.channelOffsetNs) > disagreement + (n.channelErrorNs ?? 0);
    let driftPpm: number | undefined;
    if (n.phases.length >= 8 && n.connection) {
      const fit = linearRegression(
        n.phases.map((p) => p.tNs),
        n.phases.map((p) => p.phaseNs),
      );
      if (fit) driftPpm = fit.slope * 1e6;
    }
    return {
      nodeId: n.nodeId,
      state: n.state,
      connected: n.connection !== undefined,
      remote: n.remote,
      cameras: n.cameras,
      groupsReceived: n.groupsReceived,
      backlogDropped: n.backlogDropped,
      drops: n.drops,
      framesReported: { ...n.framesReported },
      ptp: n.ptp,
      channelOffsetNs: n.channelOffsetNs,
      channelErrorNs: n.channelErrorNs,
      ptpDisagrees,
      phaseNs: this.nodePhase(n),
      residualPhaseNs: this.residual(n),
      driftPpm,
      phaseLock: n.phaseLock,
      adjustmentsSent: n.adjustmentsSent,
      reportsRejected: n.reportsRejected,
      replacements: n.replacements,
    };
  }

  private touch(node: NodeState): void {
    node.lastHeardNs = this.options.clock.nowNs();
    this.timers.clearTimeout(node.idleTimer);
    const connection = node.connection;
    node.idleTimer = this.timers.setTimeout(() => {
      if (node.connection === connection && connection)
        this.closeConnection(connection, CloseCodes.timeout, `no message for ${this.options.idleTimeoutMs ?? 10_000} ms`);
    }, this.options.idleTimeoutMs ?? 10_000);
  }

  private send(connection: MessageConnection, message: ServerMessage): void {
    connection.send(encodeMessage(message));
  }

  private scheduleTick(): void {
    this.tickHandle = this.timers.setTimeout(() => {
      if (this.closed) return;
      const nowNs = this.options.clock.nowNs();
      for (const n of this.nodes.values()) if (n.held.length > 0) this.releaseHeld(n, nowNs);
      this.policy?.advance(nowNs);
      const suppressed = this.rejectionLog.takeSuppressed(Number(nowNs / 1_000_000n));
      if (suppressed > 0)
        this.options.log?.(
          'warn',
          `${suppressed} more connections rejected in the last ${this.rejectionLog.windowMs / 1000} s (counted; not logged one by one)`,
        );
      this.scheduleTick();
    }, 10);
  }
}
