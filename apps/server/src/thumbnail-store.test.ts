import FakeTimers from '@sinonjs/fake-timers';
import { encodeThumbnailMessage, memoryConnectionPair, PROTOCOL_VERSION, type ReceivedThumbnail, SyncServer } from '@syncap/net';
import { describe, expect, it } from 'vitest';
import { ThumbnailStore } from './thumbnail-store.js';

function thumbnail(cameraId: string, seq: number, bytes = 100): ReceivedThumbnail {
  return { cameraId, seq, rigTimeNs: BigInt(seq) * 1_000_000_000n, jpeg: new Uint8Array(bytes).fill(seq & 0xff), width: 320, height: 180 };
}

describe('ThumbnailStore', () => {
  it("keeps only each camera's latest thumbnail, a copy, with a version that counts up", () => {
    let now = 0;
    const store = new ThumbnailStore({ nowMs: () => now });
    for (let seq = 0; seq < 50; seq++) {
      now += 1000;
      const t = thumbnail('a', seq);
      store.put('n1', t);
      t.jpeg.fill(0xee); // the socket's buffer is reused: the store kept its own bytes
    }
    store.put('n1', thumbnail('b', 7));
    expect(store.size).toEqual({ thumbnails: 2, bytes: 200 });
    const a = store.get('n1', 'a')!;
    expect(a).toMatchObject({ version: 50, seq: 49, width: 320, height: 180, atMs: 50_000 });
    expect(a.jpeg.every((b) => b === 49)).toBe(true);
    expect(store.index()).toEqual({
      'n1/a': { version: 50, seq: 49, width: 320, height: 180, bytes: 100, atMs: 50_000 },
      'n1/b': { version: 1, seq: 7, width: 320, height: 180, bytes: 100, atMs: 50_000 },
    });
  });

  it('drops thumbnails that come too often (counted), and holds a byte budget by evicting the stalest', () => {
    let now = 0;
    const store = new ThumbnailStore({ nowMs: () => now, minIntervalMs: 100, maxTotalBytes: 1000 });
    expect(store.put('n1', thumbnail('a', 0))).toBe(true);
    now = 50;
    expect(store.put('n1', thumbnail('a', 1))).toBe(false);
    expect(store.counters.tooFrequent).toBe(1);
    expect(store.get('n1', 'a')!.seq).toBe(0);
    // 12 cameras of 100 bytes in a 1000-byte budget: the two updated longest ago go.
    for (let c = 0; c < 12; c++) {
      now += 1;
      store.put('n2', thumbnail(`c${c}`, c));
    }
    expect(store.size.bytes).toBeLessThanOrEqual(1000);
    expect(store.counters.evicted).toBe(3); // n1/a, n2/c0, n2/c1
    expect(store.get('n1', 'a')).toBeUndefined();
    expect(store.get('n2', 'c1')).toBeUndefined();
    expect(store.get('n2', 'c11')!.seq).toBe(11);
    // One thumbnail alone over the budget is still the camera's latest: it is kept, and everything else goes.
    now += 1;
    store.put('n3', thumbnail('big', 1, 5000));
    expect(Object.keys(store.index())).toEqual(['n3/big']);
  });

  it("forgets a node's thumbnails when it leaves, and a camera's when its node says hello without it", async () => {
    const clock = FakeTimers.createClock(1_000_000);
    const server = new SyncServer({ token: 'k', clock: { nowNs: () => BigInt(clock.now) * 1_000_000n }, timers: clock });
    const store = new ThumbnailStore({ nowMs: () => clock.now }).follow(server);
    const join = (cameras: string[], session: string) => {
      const [mine, theirs] = memoryConnectionPair(['n1', 'server']);
      server.accept(theirs);
      mine.send(JSON.stringify({ type: 'hello', v: PROTOCOL_VERSION, nodeId: 'n1', token: 'k', cameras: cameras.map((id) => ({ id, fps: 30 })), session }));
      return mine;
    };
    const jpeg = new Uint8Array([0xff, 0xd8, 0xff, 0xc0, 0, 11, 8, 0, 90, 0, 160, 1, 1, 0x11, 0, 0xff, 0xd9]);
    let node = join(['a', 'b'], 's1');
    for (const cameraId of ['a', 'b']) node.sendBinary(encodeThumbnailMessage({ cameraId, seq: 1, rigTimeNs: 0n, jpeg }));
    expect(Object.keys(store.index())).toEqual(['n1/a', 'n1/b']);
    expect(store.get('n1', 'a')).toMatchObject({ width: 160, height: 90 });
    // The node comes back (a new run) with camera a only: b's image is stale.
    node.abort('crash');
    await clock.tickAsync(10);
    node = join(['a'], 's2');
    await clock.tickAsync(10);
    expect(Object.keys(store.index())).toEqual(['n1/a']);
    // It leaves (a clean close): its thumbnails go.
    node.close(1000, 'node stopping');
    await clock.tickAsync(10);
    expect(store.index()).toEqual({});
    server.close();
  });
});
