import type { ServerResponse } from 'node:http';
import type { SyncServer, SyncServerEvent } from '@syncap/net';

/**
 * The dashboard's live feed (Server-Sent Events): a `tick` twice a second with the
 * nodes table and the span of the groups formed since the last tick, and an `event`
 * for each connection change or adjustment. Bounded: slow clients are dropped, the
 * recent events list is capped.
 */
export class DashboardFeed {
  private readonly clients = new Set<ServerResponse>();
  private spans: number[] = [];
  private groups = 0;
  private incomplete = 0;
  private readonly recent: Array<{ at: number; text: string }> = [];
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly server: SyncServer,
    tickMs = 500,
  ) {
    server.onEvent((e) => this.onEvent(e));
    this.timer = setInterval(() => this.tick(), tickMs);
    this.timer.unref();
  }

  attach(res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    res.write(`event: events\ndata: ${JSON.stringify(this.recent)}\n\n`);
    this.clients.add(res);
    res.on('close', () => this.clients.delete(res));
  }

  close(): void {
    clearInterval(this.timer);
    for (const c of this.clients) c.end();
    this.clients.clear();
  }

  private onEvent(e: SyncServerEvent): void {
    if (e.type === 'global-group') {
      this.groups++;
      if (!e.group.complete) this.incomplete++;
      if (e.group.size >= 2 && this.spans.length < 10_000) this.spans.push(e.group.spanNs);
      return;
    }
    // Discards are counted in the server's counters (and /metrics), not listed one by one.
    if (e.type === 'discarded') return;
    const text =
      e.type === 'node-connected'
        ? `node ${e.nodeId} connected (${e.remote})`
        : e.type === 'node-disconnected'
          ? `node ${e.nodeId} disconnected: ${e.reason || e.code}`
          : e.type === 'rejected'
            ? `rejected ${e.remote}: ${e.reason}`
            : e.type === 'reference'
              ? `reference node: ${e.nodeId ?? 'none'}`
              : `told ${e.nodeId} to ${e.command.kind}`;
    const entry = { at: Date.now(), text };
    this.recent.push(entry);
    if (this.recent.length > 50) this.recent.shift();
    this.broadcast('event', entry);
  }

  private tick(): void {
    const spans = this.spans.sort((a, b) => a - b);
    const status = this.server.status();
    this.broadcast('tick', {
      at: Date.now(),
      groups: this.groups,
      incomplete: this.incomplete,
      spanP50Ns: spans.length ? spans[spans.length >> 1] : null,
      spanMaxNs: spans.length ? spans[spans.length - 1] : null,
      totals: status.counters,
      reference: status.reference,
      nodes: status.nodes,
    });
    this.spans = [];
  }

  private broadcast(event: string, data: unknown): void {
    const text = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const c of this.clients) {
      // A client that is not reading is cut off rather than buffered without bound.
      if (c.writableLength > 1024 * 1024) c.destroy();
      else c.write(text);
    }
  }
}
