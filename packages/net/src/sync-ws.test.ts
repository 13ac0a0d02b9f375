import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import FakeTimers from '@sinonjs/fake-timers';
import { FrameGroup, timingFrame } from '@syncap/core';
import { hostRandom, hostTimers, randomSessionId } from '@syncap/host';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { MAX_MESSAGE_BYTES } from './protocol.js';
import { SyncClient } from './sync-client.js';
import { SyncServer } from './sync-server.js';
import { listenWs, type WsListener, wsConnector } from './ws-transport.js';

const TOKEN = 't0ken';
let clock: FakeTimers.InstalledClock;
const rigClock = { nowNs: () => BigInt(clock.now) * 1_000_000n };

/** Lets real socket I/O run between fake-timer ticks until `done()` or `maxMs` of fake time. */
async function until(done: () => boolean, maxMs = 60_000, stepMs = 50): Promise<void> {
  for (let t = 0; t < maxMs && !done(); t += stepMs) {
    await clock.tickAsync(stepMs);
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  }
  if (!done()) throw new Error(`condition not met within ${maxMs} ms of fake time`);
}

function group(i: number): FrameGroup {
  const t = 1_000_000_000n + BigInt(i) * 33_333_333n;
  return new FrameGroup(i, ['c0'], [timingFrame('c0', i, t)]);
}

/** A TCP relay that can black-hole traffic (a partition) and, on healing, cut what crossed it. */
class PausableProxy {
  private server: Server;
  private sockets = new Set<Socket>();
  partitioned = false;
  port = 0;
  constructor(private readonly targetPort: () => number) {
    this.server = createServer((client) => {
      const upstream = tcpConnect(this.targetPort(), '127.0.0.1');
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => this.sockets.delete(s));
      }
      client.on('data', (d) => {
        if (!this.partitioned) upstream.write(d);
      });
      upstream.on('data', (d) => {
        if (!this.partitioned) client.write(d);
      });
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
  }
  async listen(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as { port: number }).port;
  }
  heal(): void {
    this.partitioned = false;
    for (const s of this.sockets) s.destroy();
  }
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server.close(r));
  }
}

describe('SyncServer and SyncClient over real WebSockets on 127.0.0.1 (fake timers)', () => {
  let listener: WsListener | undefined;
  let server: SyncServer | undefined;
  let port = 0;
  const clients: SyncClient[] = [];

  const logs: string[] = [];
  async function startServer(atPort = 0) {
    server = new SyncServer({
      token: TOKEN,
      clock: rigClock,
      timers: hostTimers,
      policy: { name: 'window', toleranceNs: 1_000_000, maxWaitNs: 100_000_000 },
      log: (_level, message) => logs.push(message),
    });
    listener = await listenWs((c) => server!.accept(c), { host: '127.0.0.1', port: atPort });
    port = listener.port;
  }
  async function stopServer() {
    server?.close();
    await listener?.close();
    server = undefined;
    listener = undefined;
  }
  function client(url: string, options: Partial<ConstructorParameters<typeof SyncClient>[0]> = {}) {
    const c = new SyncClient({
      connect: wsConnector(url),
      nodeId: 'node-a',
      token: TOKEN,
      cameras: [{ id: 'c0', fps: 30 }],
      clock: rigClock,
      timers: hostTimers,
      random: hostRandom,
      session: randomSessionId(),
      ...options,
    });
    clients.push(c);
    return c;
  }
  const received = () => server?.status().nodes.find((n) => n.nodeId === 'node-a')?.groupsReceived ?? 0;

  beforeEach(() => {
    // The rig clock reads 5 s: the reports below (1 s on) are recent, as a node's are.
    clock = FakeTimers.install({ now: 5000, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.stop();
    await stopServer();
    clock.uninstall();
  });

  it('delivers reports, forms global groups and acknowledges them', async () => {
    await startServer();
    const c = client(`ws://127.0.0.1:${port}`);
    c.start();
    await until(() => c.stats().connected);
    for (let i = 0; i < 100; i++) c.reportGroup(group(i));
    c.reportPhaseLock({ enabled: true, locked: 1 });
    await until(() => received() === 100 && c.stats().backlog === 0);
    expect(server!.counters.globalGroups).toBeGreaterThan(90);
    expect(server!.status().nodes[0]!.phaseLock).toEqual({ enabled: true, locked: 1, cameras: 1 });
    // Channel offset check: both ends read the same fake clock, so the offset is ~0.
    await until(() => (c.channelOffset()?.samples ?? 0) >= 2);
    expect(Math.abs(c.channelOffset()!.offsetNs)).toBeLessThanOrEqual(c.channelOffset()!.errorBoundNs + 1_000_000);
  });

  it('survives a server restart: keeps reporting while it is away and loses nothing', async () => {
    await startServer();
    const url = `ws://127.0.0.1:${port}`;
    const c = client(url);
    c.start();
    await until(() => c.stats().connected);
    for (let i = 0; i < 10; i++) c.reportGroup(group(i));
    await until(() => received() === 10);
    const oldPort = port;
    await stopServer();
    await until(() => !c.stats().connected);
    for (let i = 10; i < 60; i++) c.reportGroup(group(i));
    expect(c.stats().backlog).toBe(50);
    await startServer(oldPort);
    await until(() => received() === 50, 60_000);
    expect(c.stats().backlogDropped).toBe(0);
    expect(c.stats().connects).toBe(2);
  });

  it('bounds the backlog while the server is away and reports exactly what it dropped', async () => {
    await startServer();
    const oldPort = port;
    const c = client(`ws://127.0.0.1:${port}`, { backlogCapacity: 20 });
    c.start();
    await until(() => c.stats().connected);
    await stopServer();
    await until(() => !c.stats().connected);
    for (let i = 0; i < 50; i++) c.reportGroup(group(i));
    expect(c.stats().backlog).toBe(20);
    expect(c.stats().backlogDropped).toBe(30);
    await startServer(oldPort);
    await until(() => received() === 20);
    const status = server!.status().nodes[0]!;
    expect(status.backlogDropped).toBe(30);
  });

  it('detects a partition by heartbeat, reconnects after it heals, and delivers the backlog', async () => {
    await startServer();
    const proxy = new PausableProxy(() => port);
    await proxy.listen();
    const events: string[] = [];
    const c = client(`ws://127.0.0.1:${proxy.port}`);
    c.onEvent((e) => events.push(e.type));
    c.start();
    await until(() => c.stats().connected);
    proxy.partitioned = true;
    for (let i = 0; i < 30; i++) c.reportGroup(group(i));
    await until(() => events.includes('disconnected'), 20_000);
    expect(received()).toBe(0);
    proxy.heal();
    await until(() => received() === 30, 60_000);
    expect(c.stats().backlogDropped).toBe(0);
    await proxy.close();
  });

  it('a message over the 1 MiB limit is logged and counted in rejected like every other rejection; the peer is cut off', async () => {
    await startServer();
    const ws = new WebSocket(`ws://127.0.0.1:${port}`);
    ws.on('error', () => undefined);
    // A peer that never answers the close frame: the server's deadline cuts it off anyway.
    ws.on('open', () => {
      ws.send(JSON.stringify({ type: 'hello', v: 1, nodeId: 'big', token: TOKEN, cameras: [{ id: 'c0', fps: 30 }], session: 's' }));
      ws.send('x'.repeat(MAX_MESSAGE_BYTES + 1));
      ws.pause();
    });
    // Small steps of fake time: the megabyte crosses loopback in real time.
    await until(() => server!.counters.rejected === 1, 9000, 1);
    expect(server!.counters.rejectedByReason['too-large']).toBe(1);
    expect(logs.some((l) => l.startsWith('rejected a connection: Max payload size exceeded'))).toBe(true);
    // The server's side is closed within its close deadline (2 s), though the peer never answers.
    await until(() => server!.status().nodes.find((n) => n.nodeId === 'big')?.connected === false, 3000, 1);
  });

  it('refuses a bad token with a clear error and keeps serving the good node', async () => {
    await startServer();
    const good = client(`ws://127.0.0.1:${port}`);
    good.start();
    const errors: string[] = [];
    const bad = client(`ws://127.0.0.1:${port}`, { nodeId: 'node-b', token: 'nope' });
    bad.onEvent((e) => {
      if (e.type === 'server-error') errors.push(e.message);
    });
    bad.start();
    await until(() => good.stats().connected && errors.length > 0);
    expect(errors[0]).toMatch(/unauthorized: bad token/);
    good.reportGroup(group(0));
    await until(() => received() === 1);
  });
});
