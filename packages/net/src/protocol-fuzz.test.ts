import { fc, test } from '@fast-check/vitest';
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
