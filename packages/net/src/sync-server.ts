import {
  type CameraSpec,
  type Clock,
  createPolicy,
  type DiscardReason,
  type ErrorSink,
  errorMessage,
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
import { globalCameraId } from './camera-id.js';
import type { MessageConnection } from './message-connection.js';
import {
  type AdjustCommand,
  CloseCodes,
  decodeMessage,
  encodeMessage,
  type GroupsMessage,
  type HelloMessage,
  nodeMessageSchema,
  PROTOCOL_VERSION,
  ProtocolError,
  type PtpState,
  type ServerMessage,
} from './protocol.js';
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
  /** Nodes at most; more are refused. Default 256. */
  readonly maxNodes?: number;
  /** A node that sends nothing for this long is closed, ms. Default 10 000. */
  readonly idleTimeoutMs?: number;
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
  readonly connected: boolean;
  readonly remote: string;
  readonly cameras: readonly { id: string; fps: number }[];
  readonly groupsReceived: number;
  readonly backlogDropped: number;
  readonly drops: Readonly<Record<string, number>>;
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
  readonly adjustmentsSent: number;
}

export type SyncServerEvent =
  | { readonly type: 'node-connected'; readonly nodeId: string; readonly remote: string }
  | { readonly type: 'node-disconnected'; readonly nodeId: string; readonly code: number; readonly reason: string }
  | { readonly type: 'rejected'; readonly remote: string; readonly code: number; readonly reason: string }
  | { readonly type: 'global-group'; readonly group: FrameGroup; readonly latencyNs: number }
  /** The global policy discarded a reported frame (`node/camera`), and why. */
  | { readonly type: 'discarded'; readonly cameraId: string; readonly seq: number; readonly rigTimeNs: bigint; readonly reason: DiscardReason }
  | { readonly type: 'adjustment'; readonly nodeId: string; readonly command: AdjustCommand }
  | { readonly type: 'reference'; readonly nodeId: string | undefined };

interface NodeState {
  nodeId: string;
  connection: MessageConnection | undefined;
  remote: string;
  cameras: { id: string; fps: number }[];
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
  ptp: NodeStatus['ptp'];
  channelOffsetNs?: number;
  channelErrorNs?: number;
  /** Relative times keep regression inputs exact (instants exceed 2^53 ns). */
  epochNs?: bigint;
  phases: { tNs: number; phaseNs: number }[];
  lastAdjustMs: number;
  adjustmentsSent: number;
  idleTimer: unknown;
}

const PHASE_WINDOW = 64;
const PTP_RANK: Record<PtpState, number> = { master: 0, slave: 1, uncalibrated: 2, listening: 3, unknown: 4, faulty: 5, absent: 6 };

/**
 * The sync server. Seed: `sync_server` — done as DESIGN §4 says: nodes stream
 * group metadata; the server forms global groups with core's policies, tracks
 * each node's residual phase and drift against a reference, and sends
 * adjustment commands. Transport-agnostic: `accept()` any MessageConnection.
 */
export class SyncServer {
  private readonly nodes = new Map<string, NodeState>();
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
  /** Global groups formed, incomplete among them, and frames the global policy discarded. */
  readonly counters = { globalGroups: 0, incompleteGlobalGroups: 0, framesReported: 0, discarded: {} as Partial<Record<DiscardReason, number>>, rejected: 0 };

  constructor(private readonly options: SyncServerOptions) {
    this.timers = options.timers;
    this.events = new Listeners(options.onListenerError);
    this.policyConfig = options.policy ?? { name: 'window', toleranceNs: 1_000_000, maxWaitNs: NS_PER_S };
    const log = options.log;
    if (log) {
      this.events.add((e) => {
        if (e.type === 'node-connected') log('info', `node ${e.nodeId} connected`, { remote: e.remote });
        else if (e.type === 'node-disconnected') log('warn', `node ${e.nodeId} disconnected`, { code: e.code, reason: e.reason });
        else if (e.type === 'rejected') log('warn', `rejected a connection: ${e.reason}`, { remote: e.remote, code: e.code });
        else if (e.type === 'reference') log('info', `reference node is now ${e.nodeId ?? 'none'}`);
        else if (e.type === 'adjustment') log('info', `told ${e.nodeId} to ${e.command.kind}`, { command: e.command });
      });
    }
    this.scheduleTick();
  }

  onEvent(listener: (event: SyncServerEvent) => void): Unsubscribe {
    return this.events.add(listener);
  }

  /** Takes a new connection: it must say hello (with the token) before anything else. */
  accept(connection: MessageConnection): void {
    if (this.closed) {
      connection.close(CloseCodes.shutdown, 'server is shutting down');
      return;
    }
    let node: NodeState | undefined;
    const reject = (code: number, reason: string) => {
      this.counters.rejected++;
      this.events.emit({ type: 'rejected', remote: connection.remote, code, reason });
      this.send(connection, { type: 'error', code: String(code), message: reason });
      connection.close(code, reason);
    };
    connection.onMessage((text) => {
      if (!connection.open) return;
      try {
        const message = decodeMessage(text, nodeMessageSchema);
        if (!node) {
          if (message.type !== 'hello') throw new ProtocolError(`expected hello first, got "${message.type}"`, CloseCodes.protocol);
          node = this.onHello(connection, message);
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
          case 'ping': {
            const t2 = this.options.clock.nowNs();
            this.send(connection, { type: 'pong', id: message.id, t1: message.t1, t2: t2.toString(), t3: this.options.clock.nowNs().toString() });
            return;
          }
        }
      } catch (error) {
        if (error instanceof ProtocolError) reject(error.closeCode, error.message);
        else reject(CloseCodes.protocol, `internal error handling a message: ${errorMessage(error)}`);
      }
    });
    connection.onClose((code, reason) => {
      if (!node || node.connection !== connection) return;
      node.connection = undefined;
      this.timers.clearTimeout(node.idleTimer);
      this.events.emit({ type: 'node-disconnected', nodeId: node.nodeId, code, reason });
      this.chooseReference();
    });
  }

  status(): { nodes: NodeStatus[]; reference: string | undefined; counters: SyncServer['counters'] } {
    return { nodes: [...this.nodes.values()].map((n) => this.nodeStatus(n)), reference: this.reference, counters: this.counters };
  }

  /** Emits pending global groups and closes every connection. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.timers.clearTimeout(this.tickHandle);
    this.policy?.flush();
    for (const n of this.nodes.values()) {
      this.timers.clearTimeout(n.idleTimer);
      n.connection?.close(CloseCodes.shutdown, 'server shutting down');
    }
  }

  private onHello(connection: MessageConnection, hello: HelloMessage): NodeState {
    if (!tokensMatch(hello.token, this.options.token)) throw new ProtocolError('unauthorized: bad token', CloseCodes.unauthorized);
    if (hello.v !== PROTOCOL_VERSION)
      throw new ProtocolError(`protocol version ${hello.v} not supported (server speaks ${PROTOCOL_VERSION})`, CloseCodes.protocol);
    let node = this.nodes.get(hello.nodeId);
    if (!node && this.nodes.size >= (this.options.maxNodes ?? 256))
      throw new ProtocolError(`server is full (${this.options.maxNodes ?? 256} nodes)`, CloseCodes.protocol);
    if (node?.connection) {
      // A node that reconnects before its old connection timed out replaces it.
      node.connection.close(CloseCodes.replaced, 'replaced by a new connection from the same node');
    }
    if (!node) {
      node = {
        nodeId: hello.nodeId,
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
        ptp: { state: 'unknown' },
        phases: [],
        lastAdjustMs: Number.NEGATIVE_INFINITY,
        adjustmentsSent: 0,
        idleTimer: undefined,
      };
      this.nodes.set(hello.nodeId, node);
    } else {
      node.connection = connection;
      node.remote = connection.remote;
      node.cameras = hello.cameras;
      node.cameraIds = new Set(hello.cameras.map((c) => c.id));
      node.periodNs = periodNsFromFps(hello.cameras[0]!.fps);
      node.lastBatch = -1; // batch numbers are per connection
      node.lastAckedBatch = -1;
      if (hello.session !== node.session) {
        // A restarted node process: its report ids start again from 0, and its phase history is void.
        node.session = hello.session;
        node.lastGroupId = -1;
        node.phases = [];
        node.epochNs = undefined;
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
      config: { phaseToleranceNs: this.options.phaseToleranceNs ?? 100_000 },
    });
    this.events.emit({ type: 'node-connected', nodeId: node.nodeId, remote: connection.remote });
    this.chooseReference();
  }

  private onGroups(node: NodeState, message: GroupsMessage): void {
    if (message.batch <= node.lastBatch) throw new ProtocolError(`batch ${message.batch} is out of order (last was ${node.lastBatch})`, CloseCodes.protocol);
    node.lastBatch = message.batch;
    node.backlogDropped = message.backlogDropped;
    for (const g of message.groups) {
      // Batches that were sent but not acknowledged before a reconnect come again: skip what we have.
      if (g.id <= node.lastGroupId) continue;
      node.lastGroupId = g.id;
      node.groupsReceived++;
      const tNs = parseInstantNs(g.t);
      node.epochNs ??= tNs;
      node.phases.push({ tNs: Number(tNs - node.epochNs), phaseNs: phaseOfNs(tNs, node.periodNs) });
      if (node.phases.length > PHASE_WINDOW) node.phases.shift();
      for (const [cam, f] of Object.entries(g.frames)) {
        if (!node.cameraIds.has(cam)) throw new ProtocolError(`group ${g.id} names camera "${cam}", which the node did not announce`, CloseCodes.protocol);
        this.counters.framesReported++;
        const frame = timingFrame(globalCameraId(node.nodeId, cam), f.seq, parseInstantNs(f.t));
        // Global groups come out in time order, across policy restarts too (a node joined with a backlog).
        if (this.floorNs !== undefined && frame.rigTimeNs <= this.floorNs) this.discard(frame.cameraId, frame.seq, frame.rigTimeNs, 'late');
        else this.policy!.push(frame);
      }
    }
    // Acks are coalesced (every 8th batch, or after 50 ms): one write per message costs more
    // than the grouping. Unacknowledged batches stay in the node's bounded in-flight list.
    const nowMs = Number(this.options.clock.nowNs() / 1_000_000n);
    if (message.batch - node.lastAckedBatch >= 8 || nowMs - node.lastAckMs >= 50 || node.lastAckedBatch < 0) {
      node.lastAckedBatch = message.batch;
      node.lastAckMs = nowMs;
      this.send(node.connection!, { type: 'ack', batch: message.batch });
    }
    this.maybeAdjust(node);
  }

  private ensurePolicyCovers(): void {
    const cameras = [...this.nodes.values()].flatMap((n) => n.cameras.map((c) => ({ id: globalCameraId(n.nodeId, c.id), fps: c.fps })));
    const ids = cameras.map((c) => c.id);
    if (ids.length === this.policyCameras.length && ids.every((id, i) => id === this.policyCameras[i])) return;
    // The camera set changed (a node joined): finish what the old policy holds, start a new one.
    // The new one knows nothing of what was emitted: frames up to the last group's time are late.
    this.policy?.flush();
    this.floorNs = this.lastEmittedNs;
    this.policyCameras = ids;
    this.policy = createPolicy(this.policyConfig, cameras satisfies CameraSpec[], {
      group: (g) => this.onGlobalGroup(g),
      discard: (f, reason) => this.discard(f.cameraId, f.seq, f.rigTimeNs, reason),
    });
  }

  private discard(cameraId: string, seq: number, rigTimeNs: bigint, reason: DiscardReason): void {
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
    if (!ref || mine === undefined) return undefined;
    if (ref === node) return 0;
    const theirs = this.nodePhase(ref);
    return theirs === undefined ? undefined : wrapPhaseNs(mine - theirs, node.periodNs);
  }

  private maybeAdjust(node: NodeState): void {
    if (!this.options.adjust) return;
    const residual = this.residual(node);
    if (residual === undefined || node.nodeId === this.reference) return;
    const tolerance = this.options.phaseToleranceNs ?? 100_000;
    const nowMs = Number(this.options.clock.nowNs() / 1_000_000n);
    if (Math.abs(residual) <= tolerance || nowMs - node.lastAdjustMs < (this.options.adjustCooldownMs ?? 2000)) return;
    node.lastAdjustMs = nowMs;
    node.adjustmentsSent++;
    node.phases.length = 0; // measure afresh after the node applies it
    const command: AdjustCommand = { type: 'adjust', kind: 'shift-phase', offsetNs: -residual };
    this.send(node.connection!, command);
    this.events.emit({ type: 'adjustment', nodeId: node.nodeId, command });
  }

  private chooseReference(): void {
    const connected = [...this.nodes.values()].filter((n) => n.connection);
    let next: string | undefined;
    if (this.options.referenceNodeId && connected.some((n) => n.nodeId === this.options.referenceNodeId)) next = this.options.referenceNodeId;
    else if (this.reference && connected.some((n) => n.nodeId === this.reference && PTP_RANK[n.ptp.state] <= 1)) next = this.reference;
    else next = [...connected].sort((a, b) => PTP_RANK[a.ptp.state] - PTP_RANK[b.ptp.state])[0]?.nodeId;
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
    if (n.phases.length >= 8) {
      const fit = linearRegression(
        n.phases.map((p) => p.tNs),
        n.phases.map((p) => p.phaseNs),
      );
      if (fit) driftPpm = fit.slope * 1e6;
    }
    return {
      nodeId: n.nodeId,
      connected: n.connection !== undefined,
      remote: n.remote,
      cameras: n.cameras,
      groupsReceived: n.groupsReceived,
      backlogDropped: n.backlogDropped,
      drops: n.drops,
      ptp: n.ptp,
      channelOffsetNs: n.channelOffsetNs,
      channelErrorNs: n.channelErrorNs,
      ptpDisagrees,
      phaseNs: this.nodePhase(n),
      residualPhaseNs: this.residual(n),
      driftPpm,
      adjustmentsSent: n.adjustmentsSent,
    };
  }

  private touch(node: NodeState): void {
    this.timers.clearTimeout(node.idleTimer);
    const connection = node.connection;
    node.idleTimer = this.timers.setTimeout(() => {
      if (node.connection === connection) connection?.close(CloseCodes.protocol, `no message for ${this.options.idleTimeoutMs ?? 10_000} ms`);
    }, this.options.idleTimeoutMs ?? 10_000);
  }

  private send(connection: MessageConnection, message: ServerMessage): void {
    connection.send(encodeMessage(message));
  }

  private scheduleTick(): void {
    this.tickHandle = this.timers.setTimeout(() => {
      if (this.closed) return;
      this.policy?.advance(this.options.clock.nowNs());
      this.scheduleTick();
    }, 10);
  }
}
