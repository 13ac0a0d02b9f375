import FakeTimers from '@sinonjs/fake-timers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { memoryConnectionPair } from './memory-connection.js';
import { CloseCodes, PROTOCOL_VERSION } from './protocol.js';
import { SyncServer, type SyncServerEvent } from './sync-server.js';
import { decodeThumbnailMessage, encodeThumbnailMessage, jpegSize, MAX_THUMBNAIL_BYTES } from './thumbnail-message.js';

// Thumbnails (binary messages) against one SyncServer, over in-process connections, on fake time.

const MS = 1_000_000n;
let clock: FakeTimers.Clock;
let server: SyncServer;
let events: SyncServerEvent[];

/** The smallest byte sequence a JPEG parser takes for its size: SOI, a baseline frame header, EOI (and padding). */
function fakeJpeg(width: number, height: number, padding = 0): Uint8Array {
  const sof = [0xff, 0xc0, 0x00, 0x11, 0x08, height >> 8, height & 0xff, width >> 8, width & 0xff, 0x03, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1];
  const comment = padding > 0 ? [0xff, 0xfe, (padding + 2) >> 8, (padding + 2) & 0xff, ...new Array<number>(padding).fill(0x20)] : [];
  return new Uint8Array([0xff, 0xd8, ...comment, ...sof, 0xff, 0xd9]);
}

function peer(nodeId: string, o: { hello?: boolean; cameras?: string[] } = {}) {
  const [mine, theirs] = memoryConnectionPair([nodeId, 'server']);
  const heard: Array<{ type: string; config?: Record<string, unknown>; message?: string }> = [];
  let closed: { code: number; reason: string } | undefined;
  mine.onMessage((t) => heard.push(JSON.parse(t)));
  mine.onClose((code, reason) => {
    closed = { code, reason };
  });
  server.accept(theirs);
  if (o.hello !== false)
    mine.send(
      JSON.stringify({
        type: 'hello',
        v: PROTOCOL_VERSION,
        nodeId,
        token: 'k',
        cameras: (o.cameras ?? ['a']).map((id) => ({ id, fps: 30 })),
        session: `${nodeId}-s`,
      }),
    );
  return { connection: mine, heard, closed: () => closed };
}

const thumbnails = () => events.flatMap((e) => (e.type === 'thumbnail' ? [e] : []));
const rejections = () => events.flatMap((e) => (e.type === 'rejected' ? [e] : []));

beforeEach(() => {
  clock = FakeTimers.createClock(1_000_000);
  events = [];
  server = new SyncServer({ token: 'k', clock: { nowNs: () => BigInt(clock.now) * MS }, timers: clock });
  server.onEvent((e) => events.push(e));
});
afterEach(() => server.close());

describe('SyncServer thumbnails', () => {
  it("says in its welcome that it takes thumbnails, and passes on a node's thumbnail of its own camera, sized from the JPEG", async () => {
    const p = peer('n1', { cameras: ['a', 'b'] });
    expect(p.heard[0]).toMatchObject({ type: 'welcome', config: { maxThumbnailBytes: MAX_THUMBNAIL_BYTES } });
    const jpeg = fakeJpeg(320, 180, 1000);
    p.connection.sendBinary(encodeThumbnailMessage({ cameraId: 'b', seq: 42, rigTimeNs: 1_700_000_000_123_456_789n, jpeg }));
    await clock.tickAsync(1);
    expect(thumbnails()).toHaveLength(1);
    const t = thumbnails()[0]!;
    expect(t.nodeId).toBe('n1');
    expect(t.thumbnail).toMatchObject({ cameraId: 'b', seq: 42, rigTimeNs: 1_700_000_000_123_456_789n, width: 320, height: 180 });
    expect([...t.thumbnail.jpeg]).toEqual([...jpeg]);
    expect(server.counters).toMatchObject({ thumbnails: 1, thumbnailBytes: jpeg.byteLength, rejected: 0 });
    expect(p.closed()).toBeUndefined();
  });

  it('refuses pixels from a connection that has not said hello, and counts it like every rejection', async () => {
    const p = peer('n1', { hello: false });
    p.connection.sendBinary(encodeThumbnailMessage({ cameraId: 'a', seq: 0, rigTimeNs: 0n, jpeg: fakeJpeg(16, 16) }));
    await clock.tickAsync(1);
    expect(thumbnails()).toHaveLength(0);
    expect(rejections()[0]).toMatchObject({ code: CloseCodes.protocol, reason: 'expected hello first, got a binary message' });
    expect(server.counters.rejectedByReason).toEqual({ protocol: 1 });
    expect(p.closed()).toBeDefined();
  });

  it('refuses a thumbnail of a camera the node did not announce', async () => {
    const p = peer('n1', { cameras: ['a'] });
    p.connection.sendBinary(encodeThumbnailMessage({ cameraId: 'other', seq: 0, rigTimeNs: 0n, jpeg: fakeJpeg(16, 16) }));
    await clock.tickAsync(1);
    expect(thumbnails()).toHaveLength(0);
    expect(rejections()[0]!.reason).toMatch(/thumbnail of camera "other", which the node did not announce/);
    expect(server.counters.rejectedByReason).toEqual({ protocol: 1 });
    expect(p.closed()?.code).toBe(CloseCodes.protocol);
  });

  it('refuses an oversized thumbnail, in bytes or in pixels', async () => {
    const big = peer('n1');
    big.connection.sendBinary(encodeThumbnailMessage({ cameraId: 'a', seq: 0, rigTimeNs: 0n, jpeg: fakeJpeg(320, 180, MAX_THUMBNAIL_BYTES) }));
    const wide = peer('n2');
    wide.connection.sendBinary(encodeThumbnailMessage({ cameraId: 'a', seq: 0, rigTimeNs: 0n, jpeg: fakeJpeg(1920, 1080) }));
    await clock.tickAsync(1);
    expect(thumbnails()).toHaveLength(0);
    expect(rejections().map((r) => r.reason)).toEqual([
      expect.stringMatching(/^thumbnail of \d+ bytes exceeds the 131072-byte limit$/),
      'thumbnail of 1920x1080 px is outside 1x1–320x1024',
    ]);
    expect(server.counters.rejectedByReason).toEqual({ 'too-large': 2 });
    expect(big.closed()?.code).toBe(CloseCodes.tooLarge);
    expect(wide.closed()?.code).toBe(CloseCodes.tooLarge);
  });

  it('refuses malformed binary messages: short, unknown kind, a bad camera id, not a JPEG', async () => {
    const good = encodeThumbnailMessage({ cameraId: 'a', seq: 0, rigTimeNs: 0n, jpeg: fakeJpeg(16, 16) });
    const unknownKind = good.slice();
    unknownKind[0] = 9;
    const badId = good.slice();
    badId[16] = 0x2f; // '/'
    const notJpeg = encodeThumbnailMessage({ cameraId: 'a', seq: 0, rigTimeNs: 0n, jpeg: new Uint8Array([1, 2, 3, 4, 5, 6]) });
    for (const [i, bytes] of [new Uint8Array(5), unknownKind, badId, notJpeg].entries()) peer(`n${i}`).connection.sendBinary(bytes);
    await clock.tickAsync(1);
    expect(thumbnails()).toHaveLength(0);
    expect(rejections().map((r) => r.reason)).toEqual([
      'malformed thumbnail message: 5 bytes is shorter than its header',
      'malformed thumbnail message: unknown binary message kind 9',
      'malformed thumbnail message: the camera id holds characters other than letters, digits and . _ : -',
      'malformed thumbnail message: the image is not a baseline or progressive JPEG',
    ]);
    expect(server.counters.rejectedByReason).toEqual({ malformed: 4 });
  });
});

describe('the thumbnail message', () => {
  it('round-trips its fields and reads the JPEG size past other segments', () => {
    const jpeg = fakeJpeg(300, 200, 50);
    const decoded = decodeThumbnailMessage(encodeThumbnailMessage({ cameraId: 'cam.0:left', seq: 0xffff_ffff, rigTimeNs: -5n, jpeg }));
    expect(decoded).toMatchObject({ cameraId: 'cam.0:left', seq: 0xffff_ffff, rigTimeNs: -5n, width: 300, height: 200 });
    expect(jpegSize(jpeg)).toEqual({ width: 300, height: 200 });
    // Truncated, or a segment that runs past the end: no size.
    expect(jpegSize(jpeg.subarray(0, 20))).toBeUndefined();
    expect(jpegSize(new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0xff, 0xff, 0xff, 0xd9]))).toBeUndefined();
  });
});
