import FakeTimers from '@sinonjs/fake-timers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { memoryConnectionPair } from './memory-connection.js';
import { CloseCodes, MAX_ECHO_CHARS, PROTOCOL_VERSION } from './protocol.js';
import { SyncServer, type SyncServerEvent, type SyncServerOptions } from './sync-server.js';

// Hostile and careless peers against one SyncServer, over in-process connections, on fake time.

const TOKEN = 'k';
const MS = 1_000_000n;
let clock: FakeTimers.Clock;
let server: SyncServer;
let logs: string[];
let events: SyncServerEvent[];

function start(options: Partial<SyncServerOptions> = {}) {
  server = new SyncServer({
    token: TOKEN,
    // The rig clock and the timers are one fake clock (ms), as on a host.
    clock: { nowNs: () => BigInt(clock.now) * MS },
    timers: clock,
    log: (_level, message) => logs.push(message),
    ...options,
  });
  server.onEvent((e) => events.push(e));
  return server;
}

/** A peer: says hello (unless told not to), reports one group per call, records what it hears. */
function peer(nodeId: string, o: { session?: string; cameras?: string[]; hello?: boolean; token?: string } = {}) {
  const [mine, theirs] = memoryConnectionPair([nodeId, 'server']);
  const heard: Array<{ type: string; code?: string; message?: string }> = [];
  let closed: { code: number; reason: string } | undefined;
  mine.onMessage((t) => heard.push(JSON.parse(t)));
  mine.onClose((code, reason) => {
    closed = { code, reason };
  });
  server.accept(theirs);
  const cameras = o.cameras ?? ['c'];
  const send = (message: unknown) => mine.send(typeof message === 'string' ? message : JSON.stringify(message));
  if (o.hello !== false)
    send({
      type: 'hello',
      v: PROTOCOL_VERSION,
      nodeId,
      token: o.token ?? TOKEN,
      cameras: cameras.map((id) => ({ id, fps: 30 })),
      session: o.session ?? `${nodeId}-s`,
    });
  let batch = 0;
  let id = 0;
  return {
    connection: mine,
    heard,
    closed: () => closed,
    send,
    /** One group: every camera at instant `t` (ns, a decimal string or a bigint). */
    report(t: bigint | string) {
      const frames = Object.fromEntries(cameras.map((c) => [c, { seq: id, t: String(t) }]));
      send({ type: 'groups', batch: batch++, groups: [{ id: id++, t: String(t), spanNs: 0, frames }] });
    },
  };
}
type Peer = ReturnType<typeof peer>;

/** `frames` frame periods of 1/30 s: each peer reports the frame exposed 20 ms ago. Returns the global groups formed meanwhile. */
function stream(peers: readonly Peer[], frames: number) {
  const groups: Array<{ cameras: string[]; complete: boolean }> = [];
  const off = server.onEvent((e) => {
    if (e.type === 'global-group') groups.push({ cameras: [...e.group.frames.keys()].sort(), complete: e.group.complete });
  });
  for (let k = 0; k < frames; k++) {
    clock.tick(33);
    const t = (BigInt(clock.now) - 20n) * MS;
    for (const p of peers) if (!p.closed()) p.report(t);
  }
  off();
  return groups;
}

/** Close listeners run on a microtask, as a socket's do. */
const settle = () => Promise.resolve();

beforeEach(() => {
  clock = FakeTimers.createClock(1_000_000);
  logs = [];
  events = [];
});
afterEach(() => server?.close());

describe('a report far from the server clock', () => {
  it('far-future and far-past instants are rejected and counted; the other nodes keep forming global groups', () => {
    start();
    const a = peer('a');
    const b = peer('b');
    const h = peer('h');
    expect(stream([a, b, h], 10).length).toBeGreaterThan(5);
    h.report('99999999999999999999');
    h.report('-99999999999999999999');
    const after = stream([a, b, h], 60);
    // Without the bound, "now" jumped to the far future: nothing was grouped any more, every frame was stale.
    expect(after.length).toBeGreaterThanOrEqual(55);
    expect(after.every((g) => g.complete)).toBe(true);
    expect(server.counters.discarded.ahead).toBe(1);
    expect(server.counters.discarded.behind).toBe(1);
    expect(server.counters.discarded.stale ?? 0).toBe(0);
    expect(server.status().nodes.find((n) => n.nodeId === 'h')?.reportsRejected).toBe(2);
    expect(logs.filter((l) => l.includes('node h reported an instant'))).toHaveLength(1);
  });

  it('a node whose clock runs ahead within the bound is held back to the server clock: it stalls no one', () => {
    start();
    const a = peer('a');
    const b = peer('b');
    const fast = peer('fast');
    stream([a, b, fast], 5);
    // fast's clock is 99 frames (3.3 s) ahead: before, each of its reports moved the global policy's time 3.3 s on.
    const groups: string[][] = [];
    server.onEvent((e) => {
      if (e.type === 'global-group') groups.push([...e.group.frames.keys()]);
    });
    for (let k = 0; k < 150; k++) {
      clock.tick(33);
      const t = (BigInt(clock.now) - 20n) * MS;
      a.report(t);
      b.report(t);
      fast.report(t + 99n * 33n * MS);
    }
    expect(server.counters.discarded.stale ?? 0).toBe(0);
    expect(groups.length).toBeGreaterThan(140);
    expect(groups.filter((g) => g.includes('a/c') && g.includes('b/c')).length).toBeGreaterThan(140);
  });
});

describe('nodes that leave', () => {
  it('a node that closes normally has left at once: later global groups are complete without it', async () => {
    start();
    const a = peer('a');
    const b = peer('b');
    const brief = peer('brief');
    stream([a, b, brief], 24); // 0.8 s
    brief.connection.close(CloseCodes.normal, 'node stopping');
    await settle();
    const after = stream([a, b], 60);
    expect(after.length).toBeGreaterThan(50);
    expect(after.filter((g) => !g.complete)).toEqual([]);
    const status = server.status();
    expect(status.nodes.map((n) => [n.nodeId, n.state])).toEqual([
      ['a', 'connected'],
      ['b', 'connected'],
      ['brief', 'departed'],
    ]);
    expect(status.nodes.find((n) => n.nodeId === 'brief')!.residualPhaseNs).toBeUndefined();
    expect(server.counters.departed).toBe(1);
  });

  it('a node that drops is kept for the grace period, may come back within it, and is forgotten after it', async () => {
    start({ reconnectGraceMs: 10_000 });
    const a = peer('a');
    const b = peer('b');
    let flaky = peer('flaky', { session: 'run1' });
    stream([a, b, flaky], 10);
    flaky.connection.abort('cable pulled');
    await settle();
    expect(server.status().nodes.find((n) => n.nodeId === 'flaky')?.state).toBe('reconnecting');
    stream([a, b], 60); // 2 s: still in the set (those groups are incomplete)
    flaky = peer('flaky', { session: 'run1' });
    expect(server.status().nodes.find((n) => n.nodeId === 'flaky')?.state).toBe('connected');
    flaky.connection.abort('cable pulled again');
    await settle();
    stream([a, b], 330); // 11 s
    expect(events.some((e) => e.type === 'node-forgotten' && e.nodeId === 'flaky')).toBe(true);
    expect(server.status().nodes.find((n) => n.nodeId === 'flaky')?.state).toBe('departed');
    expect(stream([a, b], 60).filter((g) => !g.complete)).toEqual([]);
    expect(server.counters.forgotten).toBe(1);
  });

  it('after 300 node ids came and went, a new node is still taken; departed nodes listed stay bounded', async () => {
    start({ maxNodes: 256 });
    for (let i = 0; i < 300; i++) {
      const p = peer(`n${i}`);
      if (i % 2) p.connection.close(CloseCodes.normal, 'bye');
      else p.connection.abort('gone');
      await settle();
      clock.tick(i % 2 ? 0 : 10_001); // the dropped ones are forgotten after the grace period
    }
    const late = peer('late');
    expect(late.heard[0]?.type).toBe('welcome');
    const status = server.status();
    expect(status.nodes.filter((n) => n.state !== 'departed').map((n) => n.nodeId)).toEqual(['late']);
    expect(status.nodes.filter((n) => n.state === 'departed')).toHaveLength(16);
  });

  it('the reference is a connected node whose cameras are phase-locked, and is chosen again when it leaves', async () => {
    start();
    const unlocked = peer('unlocked');
    unlocked.send({ type: 'ptp', state: 'slave' });
    unlocked.send({ type: 'phase-lock', enabled: false, locked: 0, cameras: 1 });
    const locked = peer('locked');
    locked.send({ type: 'ptp', state: 'slave' });
    locked.send({ type: 'phase-lock', enabled: true, locked: 1, cameras: 1 });
    const other = peer('other');
    other.send({ type: 'ptp', state: 'slave' });
    other.send({ type: 'phase-lock', enabled: true, locked: 1, cameras: 1 });
    expect(server.status().reference).toBe('locked');
    locked.connection.abort('gone');
    await settle();
    expect(server.status().reference).toBe('other');
    other.send({ type: 'phase-lock', enabled: true, locked: 0, cameras: 1 }); // lost lock: only unlocked nodes remain
    expect(server.status().reference).toBe('other');
    other.connection.close(CloseCodes.normal, 'bye');
    await settle();
    expect(server.status().reference).toBe('unlocked');
  });
});

describe('connections that never say hello', () => {
  it('are closed after the hello deadline; past the cap of waiting ones the oldest is refused, so a node saying hello gets in; that is logged', () => {
    start({ helloTimeoutMs: 3000, maxPendingHellos: 10 });
    const silent = Array.from({ length: 50 }, (_, i) => peer(`x${i}`, { hello: false }));
    // The 40 oldest were refused to make room: 10 wait.
    expect(silent.slice(0, 40).every((p) => p.heard[0]?.code === String(CloseCodes.busy))).toBe(true);
    expect(silent.slice(40).every((p) => p.closed() === undefined && p.heard.length === 0)).toBe(true);
    expect(server.counters.rejectedByReason.busy).toBe(40);
    expect(logs.filter((l) => l.includes('are waiting for their hello (the cap)'))).toHaveLength(1);
    // The log is bounded: a flood is summed up, not written line by line.
    expect(logs.filter((l) => l.includes('rejected a connection')).length).toBeLessThanOrEqual(20);
    // Before, the waiting silent connections kept a real node out until they timed out (never, without a deadline).
    expect(peer('real').heard[0]?.type).toBe('welcome');
    clock.tick(3000);
    expect(silent.slice(41).every((p) => p.heard.at(-1)?.message === 'no hello within 3000 ms')).toBe(true);
    expect(server.counters.rejectedByReason.timeout).toBe(9);
    clock.tick(10_000);
    expect(logs.some((l) => /^\d+ more connections rejected in the last 10 s/.test(l))).toBe(true);
  });
});

describe('client input repeated', () => {
  it('an unknown 60 kB key is repeated cut short: in the error reply, the log and the event', () => {
    start();
    const key = 'k'.repeat(60_000);
    const p = peer('big', { hello: false });
    p.send(`{"type":"hello","v":1,"nodeId":"big","token":"nope","cameras":[{"id":"c","fps":30}],"${key}":1}`);
    const error = p.heard.find((m) => m.type === 'error')!;
    expect(error.message).toMatch(/invalid message: \(message\): Unrecognized key: "kkk/);
    expect(error.message!.length).toBeLessThanOrEqual(MAX_ECHO_CHARS + 40);
    expect(logs.every((l) => l.length < 400)).toBe(true);
    const rejected = events.find((e) => e.type === 'rejected');
    expect(rejected?.type === 'rejected' && rejected.reason.length).toBeLessThanOrEqual(MAX_ECHO_CHARS + 40);
  });

  it('before its hello a peer is held to the size of a hello: a 1 MB one is refused unparsed', () => {
    start();
    const p = peer('big', { hello: false });
    p.send(`{"type":"hello","v":1,"nodeId":"big","token":"${TOKEN}","cameras":[{"id":"c","fps":30}],"${'k'.repeat(1_000_000)}":1}`);
    expect(p.heard[0]?.message).toMatch(/message of 1000\d+ bytes exceeds the 65536-byte limit/);
    expect(server.counters.rejectedByReason['too-large']).toBe(1);
  });
});

describe('a connected node id', () => {
  it('is not taken over by another session while its connection is alive; its own reconnect and a dead connection are replaced, counted', () => {
    start({ deadAfterMs: 3000 });
    const a = peer('a', { session: 'mine' });
    const intruder = peer('a', { session: 'other' });
    expect(intruder.heard[0]?.code).toBe(String(CloseCodes.nodeIdInUse));
    expect(intruder.heard[0]?.message).toMatch(/is connected, and this is not its reconnect/);
    expect(a.closed()).toBeUndefined();
    expect(server.counters.rejectedByReason['node-id-in-use']).toBe(1);
    // The node's own process reconnecting (same session) replaces its old connection.
    const again = peer('a', { session: 'mine' });
    expect(again.heard[0]?.type).toBe('welcome');
    expect(server.counters.replaced).toBe(1);
    // Its connection goes silent (a dead TCP peer the kernel has not noticed): a restarted process may take over.
    clock.tick(3500);
    const restarted = peer('a', { session: 'restarted' });
    expect(restarted.heard[0]?.type).toBe('welcome');
    expect(server.counters.replaced).toBe(2);
    expect(server.status().nodes.find((n) => n.nodeId === 'a')?.replacements).toBe(2);
    expect(logs.filter((l) => l.includes('a new connection replaced the old one'))).toHaveLength(2);
  });
});
