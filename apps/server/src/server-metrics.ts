import { type NodeStatus, rejectionReason, type SyncServer } from '@syncap/net';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

const PTP_STATES = ['absent', 'listening', 'uncalibrated', 'slave', 'master', 'faulty', 'unknown'] as const;
const NODE_STATES = ['connected', 'reconnecting', 'departed'] as const;

type SetValue = (labels: Record<string, string>, v: number) => void;

/** A collect() that sets a gauge afresh from `fill` at each scrape. */
function gauge(fill: (set: SetValue) => void) {
  return function (this: Gauge) {
    this.reset();
    fill((labels, v) => this.set(labels, v));
  };
}

/** A collect() that makes a counter mirror the counts `fill` gives at each scrape. */
function counter(fill: (set: SetValue) => void) {
  return function (this: Counter) {
    this.reset();
    fill((labels, v) => this.inc(labels, v));
  };
}

/**
 * Prometheus metrics for a SyncServer, in a registry of their own (nothing global), with
 * the process metrics of prom-client's default collectors. Counters follow events, or mirror
 * the server's counts when scraped (`_total`); per-node gauges are refreshed from status().
 * Label sets stay bounded: nodes are at most maxNodes plus the departed ones listed.
 */
export class ServerMetrics {
  readonly registry = new Registry();
  private readonly groups = new Counter({ name: 'syncap_global_groups_total', help: 'Global groups formed', registers: [this.registry] });
  private readonly incomplete = new Counter({
    name: 'syncap_global_groups_incomplete_total',
    help: 'Global groups missing at least one camera',
    registers: [this.registry],
  });
  private readonly span = new Histogram({
    name: 'syncap_global_group_span_seconds',
    help: 'Span (latest − earliest frame) of global groups',
    buckets: [1e-6, 1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 1e-2, 5e-2],
    registers: [this.registry],
  });
  private readonly latency = new Histogram({
    name: 'syncap_global_group_latency_seconds',
    help: 'Exposure to global-group emission',
    buckets: [1e-3, 5e-3, 1e-2, 5e-2, 0.1, 0.5, 1, 2],
    registers: [this.registry],
  });
  private readonly rejected = new Counter({
    name: 'syncap_connections_rejected_total',
    help: 'Connections closed for what they sent or did not send (bad messages or credentials, no hello in time, too large, busy, node id in use)',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  private readonly replaced = new Counter({
    name: 'syncap_node_connections_replaced_total',
    help: 'Node connections replaced by a newer one for the same node id',
    registers: [this.registry],
  });

  constructor(server: SyncServer) {
    collectDefaultMetrics({ register: this.registry });
    const status = () => server.status();
    // Values read from the server when scraped: a gauge is set, a counter mirrors a count the server (or a node) keeps.
    const scraped = (type: 'gauge' | 'counter', name: string, help: string, labelNames: string[], fill: (set: SetValue) => void) => {
      const registers = [this.registry];
      if (type === 'gauge') new Gauge({ name, help, labelNames, registers, collect: gauge(fill) });
      else new Counter({ name, help, labelNames, registers, collect: counter(fill) });
    };
    const perNode = (read: (n: NodeStatus, set: SetValue) => void) => (set: SetValue) => {
      for (const n of status().nodes) read(n, set);
    };
    const nodeGauge = (name: string, help: string, labelNames: string[], read: (n: NodeStatus, set: SetValue) => void) =>
      scraped('gauge', name, help, labelNames, perNode(read));
    const mirroredCounter = (name: string, help: string, labelNames: string[], fill: (set: SetValue) => void) =>
      scraped('counter', name, help, labelNames, fill);
    new Gauge({
      name: 'syncap_nodes',
      help: 'Nodes by state (departed: the latest ones listed)',
      labelNames: ['state'],
      registers: [this.registry],
      collect() {
        const nodes = status().nodes;
        for (const s of NODE_STATES) this.set({ state: s }, nodes.filter((n) => n.state === s).length);
      },
    });
    nodeGauge('syncap_node_connected', 'Whether the node is connected', ['node'], (n, set) => set({ node: n.nodeId }, n.connected ? 1 : 0));
    nodeGauge('syncap_node_state', 'State of the node (1 for the current one): connected, reconnecting or departed', ['node', 'state'], (n, set) => {
      for (const s of NODE_STATES) set({ node: n.nodeId, state: s }, n.state === s ? 1 : 0);
    });
    nodeGauge('syncap_node_residual_phase_seconds', "Node's phase relative to the reference node", ['node'], (n, set) => {
      if (n.residualPhaseNs !== undefined) set({ node: n.nodeId }, n.residualPhaseNs / 1e9);
    });
    nodeGauge('syncap_node_drift_ppm', "Drift of the node's residual phase", ['node'], (n, set) => {
      if (n.driftPpm !== undefined) set({ node: n.nodeId }, n.driftPpm);
    });
    nodeGauge('syncap_node_clock_offset_seconds', 'Node clock offset measured over the sync channel', ['node'], (n, set) => {
      if (n.channelOffsetNs !== undefined) set({ node: n.nodeId }, n.channelOffsetNs / 1e9);
    });
    nodeGauge('syncap_node_ptp_offset_seconds', 'Offset ptp4l reports on the node', ['node'], (n, set) => {
      if (n.ptp.offsetNs !== undefined) set({ node: n.nodeId }, n.ptp.offsetNs / 1e9);
    });
    nodeGauge('syncap_node_ptp_state', 'PTP port state of the node (1 for the current state)', ['node', 'state'], (n, set) => {
      for (const s of PTP_STATES) set({ node: n.nodeId, state: s }, n.ptp.state === s ? 1 : 0);
    });
    nodeGauge('syncap_node_phase_locked_cameras', 'Cameras the node says are phase-locked to the rig grid (absent: phase lock off)', ['node'], (n, set) => {
      if (n.phaseLock?.enabled) set({ node: n.nodeId }, n.phaseLock.locked);
    });
    mirroredCounter('syncap_camera_drops_total', 'Frames a camera dropped (sequence gaps), as its node reports', ['node', 'camera'], (set) => {
      for (const n of status().nodes) for (const [camera, drops] of Object.entries(n.drops)) set({ node: n.nodeId, camera }, drops);
    });
    mirroredCounter('syncap_node_backlog_dropped_total', 'Group reports a node dropped from its backlog while disconnected', ['node'], (set) => {
      for (const n of status().nodes) set({ node: n.nodeId }, n.backlogDropped);
    });
    mirroredCounter('syncap_node_reports_rejected_total', "Group reports rejected for instants too far from the server's clock", ['node'], (set) => {
      for (const n of status().nodes) set({ node: n.nodeId }, n.reportsRejected);
    });
    mirroredCounter(
      'syncap_global_frames_discarded_total',
      'Reported frames not grouped, by reason (stale, late, overflow, ahead, behind, …)',
      ['reason'],
      (set) => {
        for (const [reason, count] of Object.entries(server.counters.discarded)) set({ reason }, count ?? 0);
      },
    );
    mirroredCounter('syncap_reports_duplicate_total', 'Group reports skipped as already received (resent after a reconnect)', [], (set) =>
      set({}, server.counters.duplicateReports),
    );
    mirroredCounter('syncap_nodes_departed_total', 'Nodes that left (a clean close) or were forgotten (no reconnect within the grace period)', [], (set) =>
      set({}, server.counters.departed),
    );
    server.onEvent((e) => {
      if (e.type === 'global-group') {
        this.groups.inc();
        if (!e.group.complete) this.incomplete.inc();
        if (e.group.size >= 2) this.span.observe(e.group.spanNs / 1e9);
        this.latency.observe(Math.max(0, e.latencyNs) / 1e9);
      } else if (e.type === 'rejected') {
        this.rejected.inc({ reason: rejectionReason(e.code) });
      } else if (e.type === 'node-replaced') {
        this.replaced.inc();
      }
    });
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
