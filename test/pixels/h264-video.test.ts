import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from '@foxglove/rosmsg';
import { MessageReader } from '@foxglove/rosmsg2-serialization';
import { type Channel, FoxgloveClient, type MessageData } from '@foxglove/ws-protocol';
import { type Frame, FrameGroup, isH264Keyframe } from '@syncap/core';
import { decodeJpeg, isH264ThumbnailAvailable, jpegThumbnailer, jpegThumbnailOfH264Keyframe } from '@syncap/jpeg';
import { FoxgloveLiveServer, parseBagMetadata, Ros2Recorder, readRecordingInfo } from '@syncap/record';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { concatBytes, decodeH264, decodeH264Picture, encodeH264, h264UnavailableReason } from '../support/h264-stream.js';
import { bagFiles, readBagFile, stampNs } from '../support/ros2-bag.js';

const h264Reason = h264UnavailableReason();
if (h264Reason && process.env.CI === 'true') throw new Error(`H264 tests cannot run under CI: ${h264Reason}`);
if (h264Reason) console.warn(`H264 tests skipped: ${h264Reason}`);
const thumbnailReason = isH264ThumbnailAvailable()
  ? null
  : '@syncap/jpeg was built without libavcodec (apt-get install pkg-config libavcodec-dev libswscale-dev)';
if (thumbnailReason && process.env.CI === 'true') throw new Error(`H264 thumbnail tests cannot run under CI: ${thumbnailReason}`);
if (thumbnailReason) console.warn(`H264 thumbnail tests skipped: ${thumbnailReason}`);

const T0 = 1_700_000_000_000_000_000n;
/**
 * Mean absolute difference per RGB byte between a thumbnail and ffmpeg's own decode of the
 * picture: 4.0 measured here (JPEG at quality 70); 17 when the limited-to-full range
 * conversion is left out.
 */
const MAX_MEAN_ERROR = 8;
const PERIOD_NS = 33_333_333n;

/** A camera's frame carrying one access unit; `released` counts its release. */
function videoFrame(cameraId: string, seq: number, accessUnit: Uint8Array, released: Set<number>): Frame {
  const rigTimeNs = T0 + BigInt(seq) * PERIOD_NS;
  return { cameraId, seq, deviceTimeNs: rigTimeNs - 1000n, rigTimeNs, flags: 0, data: { bytes: accessUnit, release: () => released.add(seq) } };
}

/** Mean absolute difference per byte of two images of one size. */
function meanError(a: Uint8Array, b: Uint8Array): number {
  expect(a.byteLength).toBe(b.byteLength);
  let sum = 0;
  for (let i = 0; i < a.byteLength; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.byteLength;
}

let live: FoxgloveLiveServer | undefined;
afterEach(async () => {
  await live?.close();
  live = undefined;
});

describe.runIf(h264Reason === null)('H264 as video: recorded and served as foxglove_msgs/CompressedVideo (real x264, real decoder)', () => {
  it('a recording holds every access unit as it came, one CompressedVideo per frame, and the recorded stream decodes to the same pictures', async () => {
    const units = encodeH264({ width: 320, height: 240, frames: 45, keyint: 15 });
    expect(units).toHaveLength(45);
    const dir = join(mkdtempSync(join(tmpdir(), 'syncap-h264-rec-')), 'bag');
    const recorder = await Ros2Recorder.create({ dir, cameras: [{ id: 'front', width: 320, height: 240, pixelFormat: 'h264' }] });
    const released = new Set<number>();
    for (const [seq, u] of units.entries()) recorder.recordGroup(new FrameGroup(seq, ['front'], [videoFrame('front', seq, u, released)]));
    const stats = await recorder.close();
    expect(stats.notRecorded).toEqual({});
    expect(stats.framesWritten).toBe(45);
    expect(released.size).toBe(45);

    const { messages } = await readBagFile(bagFiles(dir)[0]!);
    const video = messages.filter((m) => m.topic === '/front/image_raw/foxglove');
    expect(video).toHaveLength(45);
    video.forEach((m, seq) => {
      expect(m.type).toBe('foxglove_msgs/msg/CompressedVideo');
      expect(m.value).toMatchObject({ frame_id: 'front', format: 'h264' });
      expect(stampNs(m.value.timestamp as { sec: number; nanosec: number })).toBe(T0 + BigInt(seq) * PERIOD_NS);
      expect(m.publishTime).toBe(T0 + BigInt(seq) * PERIOD_NS - 1000n);
      // The camera's own bytes, every length mod 4 among them (the CDR after the data is padded by it).
      expect(Buffer.compare(Buffer.from(m.value.data!), Buffer.from(units[seq]!))).toBe(0);
    });
    expect(new Set(units.map((u) => u.byteLength % 4)).size).toBe(4);
    expect(video.map((m) => isH264Keyframe(m.value.data!))).toEqual(units.map((_, i) => i % 15 === 0));
    expect(decodeH264(concatBytes(video.map((m) => m.value.data!)))).toEqual(decodeH264(concatBytes(units)));
    expect(messages.some((m) => m.topic.endsWith('/image_raw') || m.topic.endsWith('/compressed'))).toBe(false);

    const meta = parseBagMetadata(readFileSync(join(dir, 'metadata.yaml'), 'utf8'));
    expect(meta.topics.find((t) => t.name === '/front/image_raw/foxglove')).toEqual({
      name: '/front/image_raw/foxglove',
      type: 'foxglove_msgs/msg/CompressedVideo',
      messageCount: 45,
    });
    expect((await readRecordingInfo(dir)).framesByCamera).toEqual({ front: 45 });
  });

  it('live: every frame from a keyframe on (no rate cap); a client joining mid-stream starts at the next keyframe and decodes', async () => {
    const units = encodeH264({ width: 320, height: 240, frames: 40, keyint: 10 });
    live = await FoxgloveLiveServer.start({ port: 0, cameras: [{ id: 'front', width: 320, height: 240, pixelFormat: 'H264' }], maxImagesPerSec: 2 });
    const client = new FoxgloveClient({ ws: new WebSocket(live.url, [FoxgloveClient.SUPPORTED_SUBPROTOCOL]) as never });
    const received: Array<Record<string, unknown> & { data: Uint8Array }> = [];
    let reader: MessageReader | undefined;
    client.on('message', (m: MessageData) => received.push(reader!.readMessage(m.data)));
    const channel = await new Promise<Channel>((resolve) =>
      client.on('advertise', (list: Channel[]) => resolve(list.find((c) => c.topic === '/front/image_raw/foxglove')!)),
    );
    expect(channel.schemaName).toBe('foxglove_msgs/msg/CompressedVideo');
    reader = new MessageReader(parse(channel.schema, { ros2: true }));
    const released = new Set<number>();
    // Frames before the subscription reaches the server go nowhere; the subscriber joins mid-GOP.
    for (let seq = 0; seq < 3; seq++) live.publishGroup(new FrameGroup(seq, ['front'], [videoFrame('front', seq, units[seq]!, released)]));
    client.subscribe(channel.id);
    for (let i = 0; i < 50 && live.counts.videoFramesAwaitingKeyframe === 0; i++) {
      await new Promise((r) => setImmediate(r));
      live.publishGroup(new FrameGroup(3, ['front'], [videoFrame('front', 3, units[3]!, released)]));
    }
    expect(live.counts.videoFramesAwaitingKeyframe).toBeGreaterThan(0);
    for (let seq = 4; seq < 40; seq++) live.publishGroup(new FrameGroup(seq, ['front'], [videoFrame('front', seq, units[seq]!, released)]));
    // From seq 10 (the next keyframe) on, all 30 frames: far above the 2 images/s a still-image camera gets.
    for (let i = 0; i < 2000 && received.length < 30; i++) await new Promise((r) => setImmediate(r));
    expect(received).toHaveLength(30);
    expect(received.map((m) => m.format)).toEqual(Array(30).fill('h264'));
    expect(Buffer.compare(Buffer.from(received[0]!.data), Buffer.from(units[10]!))).toBe(0);
    expect(isH264Keyframe(received[0]!.data)).toBe(true);
    expect(decodeH264(concatBytes(received.map((m) => m.data)))).toEqual(decodeH264(concatBytes(units)).slice(10));
    // A frame missing from the groups (seq 40 is never published) breaks the sequence: the
    // channel waits for the next keyframe (seq 50) rather than sending frames that cannot decode.
    const more = encodeH264({ width: 320, height: 240, frames: 60, keyint: 10 }).slice(40);
    const awaiting = live.counts.videoFramesAwaitingKeyframe;
    for (let k = 1; k < 20; k++) live.publishGroup(new FrameGroup(40 + k, ['front'], [videoFrame('front', 40 + k, more[k]!, released)]));
    for (let i = 0; i < 2000 && received.length < 40; i++) await new Promise((r) => setImmediate(r));
    expect(received).toHaveLength(40);
    expect(live.counts.videoFramesAwaitingKeyframe - awaiting).toBe(9);
    expect(Buffer.compare(Buffer.from(received[30]!.data), Buffer.from(more[10]!))).toBe(0);
    client.close();
  });

  it.runIf(thumbnailReason === null)(
    'thumbnails of H264 keyframes: a keyframe alone becomes a JPEG of its picture (libavcodec off the JS thread); other frames are refused, and the thumbnailer takes only keyframes',
    async () => {
      const units = encodeH264({ width: 640, height: 360, frames: 12, keyint: 10 });
      const thumbnailer = jpegThumbnailer({ maxWidth: 320 });
      expect(thumbnailer.supports('H264')).toBe(true);
      expect(units.map((u) => thumbnailer.accepts(u, 'H264'))).toEqual(units.map((_, i) => i % 10 === 0));
      const jpeg = await thumbnailer.make({ bytes: units[10]!, width: 640, height: 360, pixelFormat: 'H264' });
      const image = await decodeJpeg(jpeg);
      expect({ width: image.width, height: image.height, channels: image.channels }).toEqual({ width: 320, height: 180, channels: 3 });
      // The picture ffmpeg decodes from the whole stream, scaled alike: equal but for JPEG's loss.
      expect(meanError(decodeH264Picture(concatBytes(units), 10, 320, 180), image.pixels)).toBeLessThan(MAX_MEAN_ERROR);
      // At its own size too (no scaling: the range conversion must still happen).
      const small = encodeH264({ width: 320, height: 240, frames: 1, keyint: 10 });
      const same = await decodeJpeg(await thumbnailer.make({ bytes: small[0]!, width: 320, height: 240, pixelFormat: 'H264' }));
      expect({ width: same.width, height: same.height }).toEqual({ width: 320, height: 240 });
      expect(meanError(decodeH264Picture(small[0]!, 0, 320, 240), same.pixels)).toBeLessThan(MAX_MEAN_ERROR);
      await expect(jpegThumbnailOfH264Keyframe(units[11]!)).rejects.toMatchObject({ code: 'E_PARSE', message: expect.stringMatching(/no picture on its own/) });
      await expect(jpegThumbnailOfH264Keyframe(new Uint8Array([0, 0, 0, 1, 0x65, 1, 2, 3]))).rejects.toMatchObject({ code: 'E_PARSE' });
    },
  );
});
