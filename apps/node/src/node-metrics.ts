import { createServer, type Server } from 'node:http';
import { ConfigError } from '@syncap/core';
import type { SyncClient } from '@syncap/net';
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';

export interface NodeMetricsSource {
  readonly nodeId: string;
  readonly client: SyncClient;
  /** Frames each camera dropped (sequence gaps), cumulative. */
  readonly drops: () => Readonly<Record<string, number>>;
  /** Whether phase lock is on and how many cameras are locked. */
  readonly phaseLock: () => { readonly enabled: boolean; readonly locked: number };
}

const gaugeFill = (fill: (metric: Gauge) => void) =>
  function (this: Gauge) {
    fill(this);
  };
const counterFill = (fill: (metric: Counter) => void) =>
  function (this: Counter) {
    fill(this);
  };

/**
 * Prometheus metrics of one node (`syncap-node join --metrics-port`), so that every host of
 * a rig can be scraped: the server link (connected, connects, reports, backlog and what it
 * dropped, the channel's clock offset), camera drops, phase lock, and the process metrics of
 * prom-client's default collectors. Values are read when scraped.
 */
export class NodeMetrics {
  readonly registry = new Registry();

  constructor(source: NodeMetricsSource) {
    collectDefaultMetrics({ register: this.registry });
    const registers = [this.registry];
    const node = source.nodeId;
    const stats = () => source.client.stats();
    // Read when scraped: a gauge is set (absent when undefined), a counter mirrors a count the client keeps.
    const scraped = (type: 'gauge' | 'counter', name: string, help: string, read: () => number | undefined) => {
      const fill = (metric: Gauge | Counter) => {
        metric.reset();
        const v = read();
        if (v === undefined) return;
        if (metric instanceof Gauge) metric.set({ node }, v);
        else metric.inc({ node }, v);
      };
      const config = { name, help, labelNames: ['node'], registers };
      if (type === 'gauge') new Gauge({ ...config, collect: gaugeFill(fill) });
      else new Counter({ ...config, collect: counterFill(fill) });
    };
    const gauge = (name: string, help: string, read: () => number | undefined) => scraped('gauge', name, help, read);
    const counter = (name: string, help: string, read: () => number) => scraped('counter', name, help, read);
    gauge('syncap_node_server_connected', 'Whether the node is connected to the sync server', () => (stats().connected ? 1 : 0));
    counter('syncap_node_server_connects_total', 'Connections to the sync server that were welcomed', () => stats().connects);
    counter('syncap_node_groups_reported_total', 'Local groups reported to the sync server (queued)', () => stats().reported);
    gauge('syncap_node_backlog_reports', 'Group reports not yet acknowledged by the server', () => stats().backlog);
    counter('syncap_node_backlog_dropped_total', 'Group reports dropped because the backlog was full', () => stats().backlogDropped);
    gauge('syncap_node_channel_offset_seconds', "The server's clock minus this node's, measured over the sync channel", () => {
      const o = stats().channelOffset;
      return o ? o.offsetNs / 1e9 : undefined;
    });
    gauge('syncap_node_phase_locked_cameras', 'Cameras phase-locked to the rig grid (absent: phase lock off)', () => {
      const l = source.phaseLock();
      return l.enabled ? l.locked : undefined;
    });
    new Counter({
      name: 'syncap_camera_drops_total',
      help: 'Frames a camera dropped (sequence gaps)',
      labelNames: ['node', 'camera'],
      registers,
      collect() {
        this.reset();
        for (const [camera, n] of Object.entries(source.drops())) this.inc({ node, camera }, n);
      },
    });
  }

  /** Serves GET /metrics on host:port (port 0 picks a free one). */
  async serve(host: string, port: number): Promise<{ url: string; close: () => Promise<void> }> {
    const server: Server = createServer({ headersTimeout: 5000, requestTimeout: 10_000, connectionsCheckingInterval: 1000 }, (req, res) => {
      if (new URL(req.url ?? '/', 'http://x').pathname !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('see /metrics\n');
        return;
      }
      this.registry.metrics().then(
        (body) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(body),
        (error: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${error.message}\n`),
      );
    });
    server.maxConnections = 64;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve());
      });
    } catch (error) {
      const e = error as NodeJS.ErrnoException;
      throw new ConfigError(
        e.code === 'EADDRINUSE' ? `--metrics-port ${port} on ${host} is in use: choose another` : `cannot serve metrics on ${host}:${port}: ${e.message}`,
        { cause: error },
      );
    }
    const actual = (server.address() as { port: number }).port;
    return {
      url: `http://${host}:${actual}/metrics`,
      close: () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    };
  }
}
