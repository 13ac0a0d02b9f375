import type { NodeStatus, SyncServer } from '@syncap/net';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

const PTP_STATES = ['absent', 'listening', 'uncalibrated', 'slave', 'master', 'faulty', 'unknown'] as const;

/**
 * Prometheus metrics for a SyncServer, in a registry of their own (nothing global).
 * Counters follow events; per-node gauges are refreshed from status() when scraped.
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
    help: 'Connections closed for bad messages or credentials',
    registers: [this.registry],
  });

  constructor(server: SyncServer) {
    const nodeGauge = (
      name: string,
      help: string,
      labelNames: string[],
      read: (n: NodeStatus, set: (labels: Record<string, string>, v: number) => void) => void,
    ) =>
      new Gauge({
        name,
        help,
        labelNames,
        registers: [this.registry],
        collect() {
          this.reset();
          for (const n of server.status().nodes) read(n, (labels, v) => this.set(labels, v));
        },
      });
    nodeGauge('syncap_node_connected', 'Whether the node is connected', ['node'], (n, set) => set({ node: n.nodeId }, n.connected ? 1 : 0));
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
    nodeGauge('syncap_camera_drops', 'Frames a camera dropped (sequence gaps), as its node reports', ['node', 'camera'], (n, set) => {
      for (const [camera, drops] of Object.entries(n.drops)) set({ node: n.nodeId, camera }, drops);
    });
    nodeGauge('syncap_node_backlog_dropped', 'Group reports a node dropped from its backlog while disconnected', ['node'], (n, set) =>
      set({ node: n.nodeId }, n.backlogDropped),
    );
    server.onEvent((e) => {
      if (e.type === 'global-group') {
        this.groups.inc();
        if (!e.group.complete) this.incomplete.inc();
        if (e.group.size >= 2) this.span.observe(e.group.spanNs / 1e9);
        this.latency.observe(Math.max(0, e.latencyNs) / 1e9);
      } else if (e.type === 'rejected') {
        this.rejected.inc();
      }
    });
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
