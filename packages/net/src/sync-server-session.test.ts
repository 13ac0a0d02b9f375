import { describe, expect, it } from 'vitest';
import { memoryConnectionPair } from './memory-connection.js';
import { PROTOCOL_VERSION } from './protocol.js';
import { SyncServer } from './sync-server.js';

const noTimers = { setTimeout: () => 0, clearTimeout: () => {} };

/** One connection of node `a` with a session; reports single-camera groups with ids from 0. */
function connect(server: SyncServer, session: string | undefined, nodeId = 'a') {
  const [mine, theirs] = memoryConnectionPair([nodeId, 'server']);
  server.accept(theirs);
  mine.send(JSON.stringify({ type: 'hello', v: PROTOCOL_VERSION, nodeId, token: 'k', cameras: [{ id: 'c', fps: 30 }], ...(session ? { session } : {}) }));
  let batch = 0;
  const report = (ids: number[], t0: number) =>
    mine.send(
      JSON.stringify({
        type: 'groups',
        batch: batch++,
        groups: ids.map((id) => ({ id, t: String(t0 + id), spanNs: 0, frames: { c: { seq: id, t: String(t0 + id) } } })),
      }),
    );
  return Object.assign(report, { connection: mine });
}

describe('SyncServer sessions', () => {
  it('skips reports it already has from the same node process, and takes a restarted process from id 0 again', async () => {
    const server = new SyncServer({ token: 'k', clock: { nowNs: () => 10_000n }, timers: noTimers, policy: { name: 'exact' } });
    const first = connect(server, 's1');
    first([0, 1, 2], 1000);
    // A reconnect of the same process resends what was unacknowledged: skipped.
    const again = connect(server, 's1');
    again([1, 2, 3], 1000);
    expect(server.status().nodes[0]!.groupsReceived).toBe(4);
    expect(server.counters.duplicateReports).toBe(2);
    // The process crashed and restarted: its ids start again from 0 and must not be taken for repeats.
    again.connection.abort('node process died');
    await Promise.resolve();
    const restarted = connect(server, 's2');
    restarted([0, 1], 5000);
    expect(server.status().nodes[0]!.groupsReceived).toBe(6);
    expect(server.counters.framesReported).toBe(6);
    server.close();
  });
});

describe('SyncServer output order', () => {
  it('a node joining with a backlog older than what was emitted gets it counted late, not grouped out of order', () => {
    const server = new SyncServer({ token: 'k', clock: { nowNs: () => 10_000n }, timers: noTimers, policy: { name: 'exact' } });
    const times: bigint[] = [];
    const discarded: string[] = [];
    server.onEvent((e) => {
      if (e.type === 'global-group') times.push(e.group.timeNs);
      if (e.type === 'discarded') discarded.push(`${e.cameraId}@${e.rigTimeNs}:${e.reason}`);
    });
    connect(server, 's', 'a')([0, 1, 2], 5000);
    expect(times).toEqual([5000n, 5001n, 5002n]);
    // b comes with reports from before what a's groups covered, then current ones.
    connect(server, 's', 'b')([0, 1, 2, 3], 4999);
    expect(discarded).toEqual(['b/c@4999:late', 'b/c@5000:late', 'b/c@5001:late', 'b/c@5002:late']);
    expect(times).toEqual([5000n, 5001n, 5002n]);
    expect(server.counters.discarded.late).toBe(4);
    server.close();
  });
});

describe('memoryConnectionPair', () => {
  it('closes each side on its own: the closer at once, the peer when the close crosses the link', async () => {
    const queued: Array<() => void> = [];
    const [a, b] = memoryConnectionPair(['a', 'b'], (fn) => queued.push(fn));
    const closed: string[] = [];
    a.onClose((code) => closed.push(`a:${code}`));
    b.onClose((code) => closed.push(`b:${code}`));
    const heard: string[] = [];
    b.onMessage((m) => heard.push(m));
    a.send('before');
    a.abort('gone');
    a.send('after');
    await Promise.resolve();
    expect(a.open).toBe(false);
    expect(b.open).toBe(true);
    expect(closed).toEqual(['a:1006']);
    // The link delivers in order: the message sent before the close, then the close.
    for (const fn of queued.splice(0)) fn();
    await Promise.resolve();
    expect(heard).toEqual(['before']);
    expect(closed).toEqual(['a:1006', 'b:1006']);
    expect(b.open).toBe(false);
  });
});
