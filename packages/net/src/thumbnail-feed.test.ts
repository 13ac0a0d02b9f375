import FakeTimers from '@sinonjs/fake-timers';
import { type Frame, FrameFlags, timingFrame } from '@syncap/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { memoryConnectionPair } from './memory-connection.js';
import type { MessageConnection } from './message-connection.js';
import { PROTOCOL_VERSION } from './protocol.js';
import { SyncClient, type ThumbnailRoom } from './sync-client.js';
import { ThumbnailFeed, type ThumbnailSource } from './thumbnail-feed.js';
import type { ThumbnailMessage } from './thumbnail-message.js';

// The node's thumbnail feed against a fake thumbnailer (promises the test settles) and a fake
// link; frame time drives the cadence, so there is no clock at all.

const FORMAT = { width: 64, height: 36, pixelFormat: 'YUYV' };
/** A little over 1/30 s, so that 30 frames make a full second. */
const PERIOD_NS = 33_333_334n;

/** A thumbnailer whose every JPEG the test hands over (or fails) itself. */
function fakeThumbnailer(formats: readonly string[] = ['YUYV', 'MJPG']) {
  interface Call {
    image: ThumbnailSource;
    /** The bytes as the thumbnailer found them when asked. */
    seen: Uint8Array;
    done: boolean;
    resolve(jpeg: Uint8Array): void;
    reject(e: Error): void;
  }
  const calls: Call[] = [];
  return {
    calls,
    thumbnailer: {
      supports: (f: string) => formats.includes(f),
      make: (image: ThumbnailSource) =>
        new Promise<Uint8Array>((resolve, reject) => {
          const call: Call = {
            image,
            seen: image.bytes.slice(),
            done: false,
            resolve: (jpeg) => {
              call.done = true;
              resolve(jpeg);
            },
            reject: (e) => {
              call.done = true;
              reject(e);
            },
          };
          calls.push(call);
        }),
    },
  };
}

/** A link whose room the test sets; it records what it was given. */
function fakeSink() {
  const sent: ThumbnailMessage[] = [];
  const sink = {
    room: 'ready' as ThumbnailRoom,
    sent,
    thumbnailRoom: () => sink.room,
    sendThumbnail(t: ThumbnailMessage) {
      if (sink.room === 'ready') sent.push(t);
      return sink.room;
    },
  };
  return sink;
}

/** Frame `k` of a 30 fps camera, with its own pixel buffer (released: the test checks it was not kept). */
function frame(cameraId: string, k: number, fill = k & 0xff): Frame {
  const bytes = new Uint8Array(FORMAT.width * FORMAT.height * 2).fill(fill);
  return timingFrame(cameraId, k, 1_000_000_000_000n + BigInt(k) * PERIOD_NS, { data: { bytes, release: () => bytes.fill(0xee) } });
}

/** Lets settled thumbnail promises run their continuations. */
const settle = () => new Promise<void>((r) => queueMicrotask(() => queueMicrotask(r)));

describe('ThumbnailFeed', () => {
  it('takes at most one frame per camera per interval, copied once (the frame can be released at once)', async () => {
    const { calls, thumbnailer } = fakeThumbnailer();
    const sink = fakeSink();
    const feed = new ThumbnailFeed({ thumbnailer, intervalMs: 500 }, sink);
    // 3 s of two cameras at 30 fps; each thumbnail is finished before the next is due.
    for (let k = 0; k < 90; k++) {
      for (const cam of ['a', 'b']) {
        const f = frame(cam, k);
        feed.offer(f, FORMAT);
        f.data!.release(); // the driver gets its buffer back (and reuses it) at once
      }
      for (const c of calls.splice(0)) c.resolve(new Uint8Array([0xff, 0xd8, c.seen[0]!, 0xff, 0xd9]));
      await settle();
    }
    // Frames 0, 15, 30, … of each camera: 6 per camera in 3 s at 2 per second.
    expect(sink.sent.filter((t) => t.cameraId === 'a').map((t) => t.seq)).toEqual([0, 15, 30, 45, 60, 75]);
    expect(sink.sent.filter((t) => t.cameraId === 'b')).toHaveLength(6);
    // What the thumbnailer read is the frame as it was offered, not the released (overwritten) buffer.
    for (const t of sink.sent) expect(t.jpeg[2]).toBe(t.seq & 0xff);
    expect(sink.sent.filter((t) => t.cameraId === 'a')[1]!.rigTimeNs).toBe(1_000_000_000_000n + 15n * PERIOD_NS);
    expect(feed.stats()).toMatchObject({ sent: 12, bytesSent: 60, skippedBusy: 0, skippedBackedUp: 0 });
  });

  it('a due camera waits for a frame the thumbnailer accepts (H264: a keyframe), then keeps its cadence from that frame', async () => {
    const { calls, thumbnailer } = fakeThumbnailer(['H264']);
    const sink = fakeSink();
    // Keyframes every 20 frames (byte 0 says which), thumbnails due every 500 ms (15 frames).
    const feed = new ThumbnailFeed({ thumbnailer: { ...thumbnailer, accepts: (bytes: Uint8Array) => bytes[0] === 1 }, intervalMs: 500 }, sink);
    const h264 = { ...FORMAT, pixelFormat: 'H264' };
    for (let k = 0; k < 90; k++) {
      feed.offer(frame('a', k, k % 20 === 0 ? 1 : 0), h264);
      for (const c of calls.splice(0)) c.resolve(new Uint8Array([0xff, 0xd8, c.seen[0]!, 0xff, 0xd9]));
      await settle();
    }
    // Due at 0 (a keyframe), at 15 (waits for 20), at 35 (waits for 40), 55 (60), 75 (80).
    expect(sink.sent.map((t) => t.seq)).toEqual([0, 20, 40, 60, 80]);
    expect(sink.sent.every((t) => t.jpeg[2] === 1)).toBe(true);
    expect(feed.stats()).toMatchObject({ sent: 5, skippedBusy: 0 });
  });

  it('has at most one thumbnail in flight per camera: due frames meanwhile are skipped and counted, not queued', async () => {
    const { calls, thumbnailer } = fakeThumbnailer();
    const sink = fakeSink();
    const feed = new ThumbnailFeed({ thumbnailer }, sink);
    // The thumbnailer is stuck on camera a's first frame for 5 s; camera b's go through.
    for (let k = 0; k < 150; k++) {
      feed.offer(frame('a', k), FORMAT);
      const before = calls.length;
      feed.offer(frame('b', k), FORMAT);
      for (const c of calls.slice(before)) c.resolve(new Uint8Array([0xff, 0xd8, 0xff, 0xd9]));
      await settle();
    }
    const ofA = calls.filter((c) => !c.done);
    expect(ofA).toHaveLength(1); // a's first, never finished: nothing else of a was copied or made
    expect(feed.stats().skippedBusy).toBe(4); // a's slots at 1, 2, 3 and 4 s
    expect(sink.sent.map((t) => t.cameraId)).toEqual(['b', 'b', 'b', 'b', 'b']);
    // Once a's thumbnail is done, it goes, and a's next slot is taken again.
    ofA[0]!.resolve(new Uint8Array([0xff, 0xd8, 0xff, 0xd9]));
    await settle();
    expect(sink.sent.at(-1)).toMatchObject({ cameraId: 'a', seq: 0 });
    const made = calls.length;
    feed.offer(frame('a', 150), FORMAT);
    expect(calls).toHaveLength(made + 1);
  });

  it('skips (counts) a slot while the link is backed up or away, and drops a finished thumbnail the link has no room for', async () => {
    const { calls, thumbnailer } = fakeThumbnailer();
    const sink = fakeSink();
    const feed = new ThumbnailFeed({ thumbnailer }, sink);
    sink.room = 'backed-up';
    for (let k = 0; k < 90; k++) feed.offer(frame('a', k), FORMAT);
    expect(calls).toHaveLength(0); // nothing copied or encoded for a link that cannot take it
    expect(feed.stats().skippedBackedUp).toBe(3);
    sink.room = 'offline';
    for (let k = 90; k < 120; k++) feed.offer(frame('a', k), FORMAT);
    expect(feed.stats().skippedOffline).toBe(1);
    // Room when the frame is taken, none when its thumbnail is done: it is dropped, not held.
    sink.room = 'ready';
    feed.offer(frame('a', 120), FORMAT);
    expect(calls).toHaveLength(1);
    sink.room = 'backed-up';
    calls[0]!.resolve(new Uint8Array([0xff, 0xd8, 0xff, 0xd9]));
    await settle();
    expect(sink.sent).toHaveLength(0);
    expect(feed.stats()).toMatchObject({ sent: 0, skippedBackedUp: 4, skippedOffline: 1 });
    // And the next slot goes when there is room again.
    sink.room = 'ready';
    feed.offer(frame('a', 150), FORMAT);
    calls[1]!.resolve(new Uint8Array([0xff, 0xd8, 0xff, 0xd9]));
    await settle();
    expect(sink.sent.map((t) => t.seq)).toEqual([150]);
  });

  it('never copies frames it cannot make a thumbnail of (no pixels, an unsupported format, an error frame); counts failures', async () => {
    const { calls, thumbnailer } = fakeThumbnailer(['YUYV']);
    const sink = fakeSink();
    const feed = new ThumbnailFeed({ thumbnailer }, sink);
    feed.offer(timingFrame('a', 0, 1_000_000_000n), FORMAT); // timing only
    feed.offer(frame('a', 1), { ...FORMAT, pixelFormat: 'SIM' });
    feed.offer(frame('a', 2), undefined); // a camera not open yet
    feed.offer({ ...frame('a', 3), flags: FrameFlags.ERROR }, FORMAT);
    expect(calls).toHaveLength(0);
    feed.offer(frame('a', 4), FORMAT);
    calls[0]!.reject(new Error('corrupt frame'));
    await settle();
    expect(feed.stats()).toMatchObject({ sent: 0, failed: 1, lastError: 'corrupt frame' });
    // A failure frees the camera's slot.
    feed.offer(frame('a', 40), FORMAT);
    expect(calls).toHaveLength(2);
  });

  it('starts the cadence afresh when frame time steps back (the rig clock stepped)', () => {
    const { calls, thumbnailer } = fakeThumbnailer();
    const feed = new ThumbnailFeed({ thumbnailer }, fakeSink());
    feed.offer(frame('a', 100), FORMAT);
    calls[0]!.resolve(new Uint8Array(4));
    return settle().then(() => {
      feed.offer(frame('a', 0), FORMAT);
      expect(calls).toHaveLength(2);
    });
  });
});

describe('SyncClient thumbnail room', () => {
  let clock: FakeTimers.Clock;
  beforeEach(() => {
    clock = FakeTimers.createClock(0);
  });
  afterEach(() => {
    clock.reset();
  });

  /** A client over a connection whose send buffer the test sets, to a fake server that welcomes it (with or without thumbnails). */
  function linked(welcomeConfig: Record<string, unknown>) {
    const [mine, theirs] = memoryConnectionPair(['node', 'server']);
    let buffered = 0;
    const binaries: Uint8Array[] = [];
    const node: MessageConnection = Object.create(mine, { bufferedBytes: { get: () => buffered } });
    theirs.onBinary((b) => binaries.push(b));
    theirs.onMessage((text) => {
      const m = JSON.parse(text) as { type: string };
      if (m.type === 'hello') theirs.send(JSON.stringify({ type: 'welcome', v: PROTOCOL_VERSION, nodeId: 'node', config: welcomeConfig }));
    });
    const client = new SyncClient({
      connect: async () => node,
      nodeId: 'node',
      token: 'k',
      cameras: [{ id: 'a', fps: 30 }],
      clock: { nowNs: () => BigInt(clock.now) * 1_000_000n },
      timers: clock,
      random: { next: () => 0.5 },
      session: 's',
    });
    return { client, binaries, setBuffered: (n: number) => (buffered = n) };
  }
  const thumbnail = (bytes: number): ThumbnailMessage => ({ cameraId: 'a', seq: 7, rigTimeNs: 123n, jpeg: new Uint8Array(bytes) });

  it('sends only when welcomed by a server that takes thumbnails, within its limit, and never into a backed-up socket', async () => {
    const { client, binaries, setBuffered } = linked({ maxThumbnailBytes: 1000 });
    expect(client.thumbnailRoom()).toBe('offline');
    client.start();
    await clock.tickAsync(1);
    expect(client.thumbnailRoom()).toBe('ready');
    expect(client.sendThumbnail(thumbnail(1001))).toBe('too-large');
    setBuffered(64 * 1024 + 1);
    expect(client.sendThumbnail(thumbnail(100))).toBe('backed-up');
    expect(binaries).toHaveLength(0);
    setBuffered(0);
    expect(client.sendThumbnail(thumbnail(100))).toBe('ready');
    expect(binaries).toHaveLength(1);
    expect(binaries[0]!.byteLength).toBe(16 + 1 + 100);
    client.stop();
  });

  it('sends none to a server whose welcome does not offer them', async () => {
    const { client, binaries } = linked({});
    client.start();
    await clock.tickAsync(1);
    expect(client.stats().connected).toBe(true);
    expect(client.sendThumbnail(thumbnail(10))).toBe('unsupported');
    expect(binaries).toHaveLength(0);
    client.stop();
  });
});
