import { fc, test } from '@fast-check/vitest';
import FakeTimers from '@sinonjs/fake-timers';
import { expect } from 'vitest';
import { memoryConnectionPair } from './memory-connection.js';
import type { MessageConnection } from './message-connection.js';
import { MAX_MESSAGE_BYTES, PROTOCOL_VERSION } from './protocol.js';
import { SyncServer } from './sync-server.js';

const TOKEN = 'secret-token';
const hello = (nodeId: string, token = TOKEN) =>
  JSON.stringify({ type: 'hello', v: PROTOCOL_VERSION, nodeId, token, cameras: [{ id: 'c0', fps: 30 }], capabilities: [] });
const groups = (batch: number, firstId: number, count = 1) =>
  JSON.stringify({
    type: 'groups',
    batch,
    groups: Array.from({ length: count }, (_, i) => ({
      id: firstId + i,
      t: String(1_000_000_000 + (firstId + i) * 33_333_333),
      spanNs: 0,
      frames: { c0: { seq: firstId + i, t: String(1_000_000_000 + (firstId + i) * 33_333_333) } },
    })),
    backlogDropped: 0,
  });

/** A node talking to the server over an in-process connection, recording what it hears. */
function attach(server: SyncServer) {
  const [nodeSide, serverSide] = memoryConnectionPair(['node', 'server']);
  const heard: Array<{ type: string; code?: string; message?: string; batch?: number }> = [];
  let closed: { code: number; reason: string } | undefined;
  nodeSide.onMessage((t) => heard.push(JSON.parse(t)));
  nodeSide.onClose((code, reason) => {
    closed = { code, reason };
  });
  server.accept(serverSide);
  return { conn: nodeSide as MessageConnection, heard, closed: () => closed };
}

/** Close listeners run on a microtask, as a socket's do. */
const closesDelivered = () => Promise.resolve();

// Every kind of bad input a node (or an attacker) can send first, or after a valid hello.
const badMessage = fc.oneof(
  fc.string({ maxLength: 200 }), // not JSON, mostly
  fc.json({ maxDepth: 3 }).filter((j) => {
    const v = JSON.parse(j);
    return typeof v !== 'object' || v === null || !('type' in v);
  }),
  fc.record({ type: fc.constantFrom('groups', 'ptp', 'drops', 'ping', 'hello', 'bogus'), v: fc.anything() }).map((o) => JSON.stringify(o)),
  fc.constant('x'.repeat(MAX_MESSAGE_BYTES + 1)),
  fc.constant(hello('intruder', 'wrong-token')),
  fc.constant(JSON.stringify({ type: 'hello', v: 2, nodeId: 'n', token: TOKEN, cameras: [{ id: 'c', fps: 30 }] })),
  fc.constant(JSON.stringify({ type: 'hello', v: 1, nodeId: 'bad id with spaces', token: TOKEN, cameras: [{ id: 'c', fps: 30 }] })),
  fc.constant(groups(0, 0)), // groups before hello
);

test.prop([badMessage, fc.boolean()], { numRuns: 10_000 })(
  'malformed, oversized, unauthenticated and out-of-order messages are rejected with a clear error; other nodes are still served',
  async (message, afterHello) => {
    const server = new SyncServer({ token: TOKEN, clock: { nowNs: () => 5_000_000_000n }, timers: { setTimeout: () => 0, clearTimeout: () => {} } });
    const good = attach(server);
    good.conn.send(hello('good'));
    const bad = attach(server);
    if (afterHello) bad.conn.send(hello('bad'));
    bad.conn.send(message);
    await closesDelivered();
    // The offender: an error naming the problem, then closed. (Groups after a hello are valid.)
    const valid = afterHello && message === groups(0, 0);
    if (valid) expect(bad.closed()).toBeUndefined();
    else {
      const closed = bad.closed();
      expect(closed, `not closed for ${message.slice(0, 80)}`).toBeDefined();
      expect(closed!.code).toBeGreaterThanOrEqual(1000);
      const error = bad.heard.find((m) => m.type === 'error');
      expect(error?.message).toMatch(/invalid message|not JSON|exceeds|unauthorized|expected hello first|hello sent twice|version|out of order/);
    }
    // The other node is untouched and still served.
    expect(good.closed()).toBeUndefined();
    good.conn.send(groups(0, 0));
    expect(good.heard.some((m) => m.type === 'ack' && m.batch === 0)).toBe(true);
    server.close();
  },
);

test.prop([fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 2, maxLength: 10 })], { numRuns: 500 })(
  'batches must come in order: a repeated or older batch closes the connection',
  async (batches) => {
    const server = new SyncServer({ token: TOKEN, clock: { nowNs: () => 5_000_000_000n }, timers: { setTimeout: () => 0, clearTimeout: () => {} } });
    const node = attach(server);
    node.conn.send(hello('n'));
    let last = -1;
    for (const b of batches) {
      node.conn.send(groups(b, b * 10));
      await closesDelivered();
      if (b <= last) {
        expect(node.closed()?.code).toBe(4402);
        expect(node.heard.at(-1)?.message).toMatch(`batch ${b} is out of order`);
        break;
      }
      last = b;
      expect(node.closed()).toBeUndefined();
    }
    server.close();
  },
);

// Hostile but valid: messages that pass the schema, from peers that hold the token.

const MS = 1_000_000n;

/** A server on one fake clock (rig clock and timers alike), with peers over in-process connections. */
function fakeRig(options: Partial<ConstructorParameters<typeof SyncServer>[0]> = {}) {
  const clock = FakeTimers.createClock(1_000_000);
  const server = new SyncServer({
    token: TOKEN,
    clock: { nowNs: () => BigInt(clock.now) * MS },
    timers: clock,
    ...options,
  });
  const peer = (nodeId: string, session = `${nodeId}-run`, sayHello = true) => {
    const [mine, theirs] = memoryConnectionPair([nodeId, 'server']);
    let closed: number | undefined;
    mine.onClose((code) => {
      closed = code;
    });
    server.accept(theirs);
    if (sayHello) mine.send(JSON.stringify({ type: 'hello', v: PROTOCOL_VERSION, nodeId, token: TOKEN, cameras: [{ id: 'c0', fps: 30 }], session }));
    let batch = 0;
    let id = 0;
    return {
      conn: mine,
      closed: () => closed,
      report: (t: string) =>
        mine.send(JSON.stringify({ type: 'groups', batch: batch++, groups: [{ id: id++, t, spanNs: 0, frames: { c0: { seq: id, t } } }] })),
    };
  };
  return { clock, server, peer };
}

/** An instant as a hostile node may claim it: near the server's clock, a little or far off it, or at the ends of the wire format. */
const claimedInstant = fc.oneof(
  fc.record({ offsetMs: fc.integer({ min: -50, max: 50 }) }),
  fc.record({ offsetMs: fc.integer({ min: -4_000, max: 4_000 }) }),
  fc.record({ offsetMs: fc.constantFrom(-5_001, 5_001, -3_600_000, 3_600_000) }),
  fc.record({ absolute: fc.bigInt({ min: -(10n ** 19n), max: 10n ** 19n }) }),
  fc.record({ absolute: fc.constantFrom(99999999999999999999n, -99999999999999999999n, 0n) }),
);
const instantAt = (claim: { offsetMs?: number; absolute?: bigint }, nowNs: bigint) => String(claim.absolute ?? nowNs + BigInt(claim.offsetMs!) * MS);

const hostileAction = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('report' as const), claim: claimedInstant }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('takeover' as const), victim: fc.constantFrom('a', 'b') }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('ping-flood' as const), n: fc.integer({ min: 1, max: 200 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 500 }) }) },
);

test.prop([fc.array(hostileAction, { minLength: 1, maxLength: 40 })], { numRuns: 300 })(
  'a token holder sending far-future and far-past instants, id takeovers and floods stalls no other node',
  async (actions) => {
    const { clock, server, peer } = fakeRig();
    const a = peer('a');
    const b = peer('b');
    const h = peer('h');
    const lostGood: string[] = [];
    server.onEvent((e) => {
      if (e.type === 'discarded' && e.cameraId !== 'h/c0') lostGood.push(`${e.cameraId}@${e.rigTimeNs}: ${e.reason}`);
    });
    const good = () => {
      clock.tick(33);
      const t = String((BigInt(clock.now) - 20n) * MS);
      a.report(t);
      b.report(t);
    };
    for (let k = 0; k < 10; k++) good();
    for (const action of actions) {
      if (action.kind === 'report') h.report(instantAt(action.claim, BigInt(clock.now) * MS));
      // Another session saying hello with a live node's id: refused, the node keeps its connection.
      else if (action.kind === 'takeover') peer(action.victim, 'not-the-victims');
      else if (action.kind === 'ping-flood') {
        for (let i = 0; i < action.n; i++) h.conn.send(JSON.stringify({ type: 'ping', id: i, t1: '1' }));
      } else {
        for (let ms = 0; ms < action.ms; ms += 33) good();
      }
      good();
      await Promise.resolve();
    }
    expect(a.closed()).toBeUndefined();
    expect(b.closed()).toBeUndefined();
    // The good nodes' frames keep forming groups: after the onslaught, one more second of frames is grouped with both.
    const groups: string[][] = [];
    server.onEvent((e) => {
      if (e.type === 'global-group') groups.push([...e.group.frames.keys()]);
    });
    for (let k = 0; k < 60; k++) good();
    expect(groups.filter((g) => g.includes('a/c0') && g.includes('b/c0')).length).toBeGreaterThanOrEqual(25);
    // Not one of their frames was discarded (stale or late: what a far-future "now" did to every node).
    expect(lostGood).toEqual([]);
    server.close();
  },
);

const churnAction = fc.oneof(
  fc.record({ kind: fc.constant('join' as const), id: fc.integer({ min: 0, max: 400 }) }),
  fc.record({ kind: fc.constant('leave' as const), pick: fc.nat(), clean: fc.boolean() }),
  fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 1, max: 12_000 }) }),
  fc.record({ kind: fc.constant('silent' as const), n: fc.integer({ min: 1, max: 30 }) }),
);

test.prop([fc.array(churnAction, { minLength: 1, maxLength: 120 })], { numRuns: 200 })(
  'churn of many node ids and floods of silent connections: every state is bounded and a new node can always join',
  async (actions) => {
    const maxNodes = 20;
    const { clock, server, peer } = fakeRig({ maxNodes, reconnectGraceMs: 10_000, helloTimeoutMs: 3000, maxPendingHellos: 16, departedListed: 8 });
    const live: Array<ReturnType<typeof peer>> = [];
    for (const action of actions) {
      if (action.kind === 'join') {
        const p = peer(`n${action.id}`);
        await Promise.resolve();
        if (p.closed() === undefined) live.push(p);
      } else if (action.kind === 'leave' && live.length > 0) {
        const [p] = live.splice(action.pick % live.length, 1);
        if (action.clean) p!.conn.close(1000, 'node stopping');
        else p!.conn.abort('gone');
      } else if (action.kind === 'wait') {
        clock.tick(action.ms);
      } else if (action.kind === 'silent') {
        for (let i = 0; i < action.n; i++) peer(`s${i}`, 's', false);
      }
      await Promise.resolve();
      const nodes = server.status().nodes;
      expect(nodes.filter((n) => n.state !== 'departed').length).toBeLessThanOrEqual(maxNodes);
      expect(nodes.filter((n) => n.state === 'departed').length).toBeLessThanOrEqual(8);
      expect(new Set(nodes.map((n) => n.nodeId)).size).toBe(nodes.length);
    }
    // Once the grace period and the hello deadline have passed, only the live nodes remain, and a new one is taken.
    for (const p of live) p.conn.close(1000, 'node stopping');
    await Promise.resolve();
    clock.tick(10_001);
    expect(server.status().nodes.filter((n) => n.state !== 'departed')).toEqual([]);
    const late = peer('late');
    await Promise.resolve();
    expect(late.closed()).toBeUndefined();
    expect(server.status().nodes.find((n) => n.nodeId === 'late')?.state).toBe('connected');
    server.close();
  },
);
