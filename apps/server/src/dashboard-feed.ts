import type { ServerResponse } from 'node:http';
import { clip, LogBudget, type SyncServer, type SyncServerEvent } from '@syncap/net';

/** Dashboard clients at most; more get 503 (each is a long-lived response). */
export const MAX_DASHBOARD_CLIENTS = 32;
/** A client this far behind (bytes not yet written to it) is cut off rather than buffered without bound. */
const MAX_CLIENT_BACKLOG_BYTES = 1024 * 1024;
const RECENT_EVENTS = 50;

/**
 * The dashboard's live feed (Server-Sent Events): a `tick` twice a second with the
 * nodes table and the span of the groups formed since the last tick, and an `event`
 * for each connection change or adjustment. Bounded: slow clients are dropped, the
 * clients and the recent events list are capped, each event's text is cut short, and
 * rejections (which peers cause at will) are listed within a budget and summed up.
 */
export class DashboardFeed {
  private readonly clients = new Set<ServerResponse>();
  private spans: number[] = [];
  private groups = 0;
  private incomplete = 0;
  private readonly recent: Array<{ at: number; text: string }> = [];
  private readonly rejections = new LogBudget(10, 10_000);
  private readonly timer: NodeJS.Timeout;
  /** Clients refused (the cap) and cut off (not reading), since the start. */
  readonly counters = { refused: 0, cutOff: 0 };

  constructor(
    private readonly server: SyncServer,
    tickMs = 500,
  ) {
    server.onEvent((e) => this.onEvent(e));
    this.timer = setInterval(() => this.tick(), tickMs);
    this.timer.unref();
  }

  attach(res: ServerResponse): void {
    if (this.clients.size >= MAX_DASHBOARD_CLIENTS) {
      this.counters.refused++;
      res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '10' }).end(`the live feed has ${MAX_DASHBOARD_CLIENTS} clients already\n`);
      return;
    }
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
    if (e.type === 'rejected' && !this.rejections.admit(Date.now())) return;
    this.add(describe(e));
  }

  private add(text: string): void {
    const entry = { at: Date.now(), text: clip(text) };
    this.recent.push(entry);
    if (this.recent.length > RECENT_EVENTS) this.recent.shift();
    this.broadcast('event', entry);
  }

  private tick(): void {
    const suppressed = this.rejections.takeSuppressed(Date.now());
    if (suppressed > 0) this.add(`${suppressed} more connections rejected (counted in /metrics)`);
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
      if (c.writableLength > MAX_CLIENT_BACKLOG_BYTES) {
        this.counters.cutOff++;
        c.destroy();
      } else c.write(text);
    }
  }
}

/** One line for the events list. */
function describe(e: Exclude<SyncServerEvent, { type: 'global-group' | 'discarded' }>): string {
  switch (e.type) {
    case 'node-connected':
      return `node ${e.nodeId} connected (${e.remote})`;
    case 'node-disconnected':
      return e.state === 'departed'
        ? `node ${e.nodeId} left${e.reason ? `: ${e.reason}` : ''}`
        : `node ${e.nodeId} disconnected (${e.reason || e.code}); kept while it reconnects`;
    case 'node-forgotten':
      return `node ${e.nodeId} did not reconnect: forgotten`;
    case 'node-replaced':
      return `node ${e.nodeId}: a new connection from ${e.remote} replaced the old one (${e.why})`;
    case 'rejected':
      return `rejected ${e.remote}: ${e.reason}`;
    case 'reference':
      return `reference node: ${e.nodeId ?? 'none'}`;
    case 'adjustment':
      return `told ${e.nodeId} to ${e.command.kind}`;
  }
}
