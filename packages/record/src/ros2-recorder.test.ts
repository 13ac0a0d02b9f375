import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MessageReader } from '@foxglove/rosmsg2-serialization';
import { type Frame, type FrameGroup, SyncCaptureManager } from '@syncap/core';
import { decodeJpeg, encodeJpegSync, isJpegAvailable } from '@syncap/jpeg';
import { readPatternStamp, SeededRandom, SimCamera, type SimPixelsOptions, SimScheduler } from '@syncap/sim';
import { describe, expect, it } from 'vitest';
import { parseBagMetadata } from './bag-metadata.js';
import { openIndexed, readRecordingInfo } from './recording-reader.js';
import { Ros2Recorder, type Ros2RecorderOptions } from './ros2-recorder.js';
import { ros2Definitions } from './ros2-schemas.js';

const jpegReason = isJpegAvailable() ? null : 'the JPEG addon is not built (needs libturbojpeg0-dev)';
if (jpegReason && process.env.CI === 'true') throw new Error(`recorder tests cannot run under CI: ${jpegReason}`);
const encodeJpeg = (yuyv: Uint8Array, width: number, height: number) => encodeJpegSync(yuyv, { width, height, pixelFormat: 'YUYV', quality: 80 });

interface Image {
  header: { stamp: { sec: number; nanosec: number }; frame_id: string };
  width?: number;
  height?: number;
  encoding?: string;
  step?: number;
  format?: string;
  data: Uint8Array;
}

/** Captures `seconds` of simulated cameras through the real manager into a recorder; returns what was captured. */
async function record(pixels: SimPixelsOptions[], options: Partial<Ros2RecorderOptions> = {}, seconds = 1) {
  const scheduler = new SimScheduler(1_700_000_000_000_000_000n);
  const random = new SeededRandom(2);
  const cameras = pixels.map((p, i) => new SimCamera(scheduler, random.fork(`c${i}`), { id: `cam${i}`, fps: 30, pixels: p, buffers: 8 }));
  const manager = new SyncCaptureManager({ policy: { name: 'window', toleranceNs: 2_000_000 }, clock: scheduler.clock, timers: scheduler.timers });
  for (const c of cameras) manager.addCamera(c, { fps: 30 });
  await manager.start();
  const dir = join(mkdtempSync(join(tmpdir(), 'syncap-rec-')), 'bag');
  const recorder = await Ros2Recorder.create({
    dir,
    cameras: cameras.map((c) => ({ id: c.id, width: c.info!.width, height: c.info!.height, pixelFormat: c.info!.pixelFormat, buffers: c.info!.buffers })),
    ...options,
  });
  // What each frame held when it was captured (its copy, its stamp): the file must hold the same.
  const captured = new Map<string, { frame: Frame; bytes: Uint8Array }>();
  const groups: FrameGroup[] = [];
  const consume = (async () => {
    for await (const group of manager) {
      for (const f of group.frames.values()) captured.set(`${f.cameraId}#${f.seq}`, { frame: f, bytes: f.data!.bytes.slice() });
      groups.push(group);
      recorder.recordGroup(group);
    }
  })();
  // Virtual time runs ahead only once the disk has caught up (this test is not about a slow disk).
  for (let t = 0; t < seconds * 20; t++) {
    await scheduler.runUntilAsync(scheduler.nowNs + 50_000_000n, () => new Promise((r) => setImmediate(r)));
    if (!options.maxQueueBytes) await recorder.whenWritten();
  }
  await manager.stop();
  await consume;
  const stats = await recorder.close();
  return { dir, stats, captured, groups, cameras };
}

async function messages(path: string) {
  const { reader, close } = await openIndexed(path);
  const out: Array<{ topic: string; schema: string; logTime: bigint; publishTime: bigint; value: Record<string, unknown> }> = [];
  for await (const m of reader.readMessages()) {
    const channel = reader.channelsById.get(m.channelId)!;
    const schema = reader.schemasById.get(channel.schemaId)!;
    expect(channel.messageEncoding).toBe('cdr');
    expect(schema.encoding).toBe('ros2msg');
    const value = new MessageReader(ros2Definitions(new TextDecoder().decode(schema.data))).readMessage<Record<string, unknown>>(m.data);
    out.push({ topic: channel.topic, schema: schema.name, logTime: m.logTime, publishTime: m.publishTime, value });
  }
  const header = reader.header;
  await close();
  return { header, messages: out };
}

const stampNs = (s: { sec: number; nanosec: number }) => BigInt(s.sec) * 1_000_000_000n + BigInt(s.nanosec);

describe('Ros2Recorder: ROS 2 bags, zero-copy', () => {
  it('writes raw frames as sensor_msgs/Image in CDR that an independent reader decodes to the captured bytes, stamps and sizes', async () => {
    const { dir, stats, captured, groups, cameras } = await record([
      { width: 320, height: 180, pixelFormat: 'YUYV' },
      { width: 160, height: 120, pixelFormat: 'GREY' },
    ]);
    expect(stats.notRecorded).toEqual({});
    expect(stats.framesWritten).toBe(captured.size);
    // Every zero-copy buffer went back to its camera once written.
    for (const c of cameras) expect(c.buffersInUse).toBe(0);
    const { header, messages: all } = await messages(join(dir, 'bag_0.mcap'));
    expect(header.profile).toBe('ros2');
    const images = all.filter((m) => m.schema === 'sensor_msgs/msg/Image');
    expect(images.length).toBe(captured.size);
    for (const m of images) {
      const v = m.value as unknown as Image;
      const cam = m.topic.split('/')[1]!;
      expect(m.topic).toBe(`/${cam}/image_raw`);
      expect(v.header.frame_id).toBe(cam);
      const stamp = readPatternStamp(v.data, v.width!, v.height!, v.encoding === 'mono8' ? 1 : 2)!;
      const source = captured.get(`${cam}#${stamp.seq}`)!;
      expect(Buffer.compare(Buffer.from(v.data), Buffer.from(source.bytes))).toBe(0);
      expect(v.encoding).toBe(cam === 'cam0' ? 'yuv422_yuy2' : 'mono8');
      expect(v.step).toBe(cam === 'cam0' ? 640 : 160);
      // Stamp and log time: rig time (mid-exposure); publish time: the device's own timestamp.
      expect(stampNs(v.header.stamp)).toBe(source.frame.rigTimeNs);
      expect(m.logTime).toBe(source.frame.rigTimeNs);
      expect(m.publishTime).toBe(source.frame.deviceTimeNs);
    }
    const groupMessages = all.filter((m) => m.topic === '/syncap/frame_groups');
    expect(groupMessages.length).toBe(groups.length);
    const g = groupMessages[3]!.value as { id: bigint; cameras: string[]; seqs: Uint32Array; complete: boolean; not_recorded: string[] };
    expect(g.cameras).toEqual([...groups[3]!.frames.keys()]);
    expect([...g.seqs]).toEqual([...groups[3]!.frames.values()].map((f) => f.seq));
    expect(g.not_recorded).toEqual([]);
    // rosbag2's metadata.yaml lists the file and every topic with its count.
    const meta = parseBagMetadata(readFileSync(join(dir, 'metadata.yaml'), 'utf8'));
    expect(meta.files.map((f) => f.path)).toEqual(['bag_0.mcap']);
    expect(meta.topics.find((t) => t.name === '/cam0/image_raw')).toEqual({
      name: '/cam0/image_raw',
      type: 'sensor_msgs/msg/Image',
      messageCount: captured.size / 2,
    });
    expect(meta.startNs).toBeGreaterThan(1_700_000_000_000_000_000n);
    const info = await readRecordingInfo(dir);
    expect(info.framesByCamera).toEqual({ cam0: captured.size / 2, cam1: captured.size / 2 });
    expect(info.groups.total).toBe(groups.length);
  });

  it.runIf(jpegReason === null)('records MJPG as it comes (CompressedImage, the same bytes) and raw frames as JPEG with --encode jpeg', async () => {
    const mjpg = await record([{ width: 320, height: 240, pixelFormat: 'MJPG', encodeJpeg }]);
    expect(mjpg.stats.notRecorded).toEqual({});
    const compressed = (await messages(join(mjpg.dir, 'bag_0.mcap'))).messages.filter((m) => m.topic === '/cam0/image_raw/compressed');
    expect(compressed.length).toBe(mjpg.captured.size);
    for (const m of compressed.slice(0, 5)) {
      const v = m.value as unknown as Image;
      expect(m.schema).toBe('sensor_msgs/msg/CompressedImage');
      expect(v.format).toBe('jpeg');
      const source = [...mjpg.captured.values()].find((c) => c.frame.rigTimeNs === m.logTime)!;
      expect(Buffer.compare(Buffer.from(v.data), Buffer.from(source.bytes))).toBe(0);
    }
    const raw = await record([{ width: 320, height: 180, pixelFormat: 'YUYV' }], { encode: 'jpeg' });
    expect(raw.stats.notRecorded).toEqual({});
    const jpegs = (await messages(join(raw.dir, 'bag_0.mcap'))).messages.filter((m) => m.topic === '/cam0/image_raw/compressed');
    expect(jpegs.length).toBe(raw.captured.size);
    const decoded = await decodeJpeg((jpegs[2]!.value as unknown as Image).data);
    const stamp = readPatternStamp(decoded.pixels, decoded.width, decoded.height, decoded.channels)!;
    expect(raw.captured.get(`cam0#${stamp.seq}`)!.frame.deviceTimeNs).toBe(stamp.exposureNs);
    for (const c of raw.cameras) expect(c.buffersInUse).toBe(0);
  });

  it('a disk that cannot keep up drops frames at once, counted by camera and named in the groups; capture goes on', async () => {
    const { dir, stats, captured } = await record([{ width: 320, height: 180, pixelFormat: 'YUYV' }], { maxQueueBytes: 320 * 180 * 2 }, 1);
    const dropped = stats.notRecorded.cam0?.disk ?? 0;
    expect(dropped).toBeGreaterThan(0);
    expect(stats.framesWritten + dropped).toBe(captured.size);
    const groups = (await messages(join(dir, 'bag_0.mcap'))).messages.filter((m) => m.topic === '/syncap/frame_groups');
    const named = groups.filter((m) => (m.value as { not_recorded: string[] }).not_recorded.includes('cam0')).length;
    expect(named).toBe(dropped);
    expect((await readRecordingInfo(dir)).notRecorded).toEqual({ cam0: { disk: dropped } });
  });

  it('splits into new files by duration; metadata.yaml lists them all', async () => {
    const { dir, stats, captured } = await record([{ width: 160, height: 120, pixelFormat: 'GREY' }], { splitDurationNs: 300_000_000 }, 1.5);
    expect(stats.files.length).toBeGreaterThanOrEqual(4);
    const meta = parseBagMetadata(readFileSync(join(dir, 'metadata.yaml'), 'utf8'));
    expect(meta.files.map((f) => f.path)).toEqual(stats.files.map((f) => f.split('/').at(-1)));
    const info = await readRecordingInfo(dir);
    expect(info.framesByCamera.cam0).toBe(captured.size);
    expect(meta.topics.find((t) => t.name === '/cam0/image_raw')?.messageCount).toBe(captured.size);
  });

  it('a frame whose driver buffer is taken back before its write (a camera closed first) keeps the file whole and is counted', async () => {
    const scheduler = new SimScheduler(1_700_000_000_000_000_000n);
    const camera = new SimCamera(scheduler, new SeededRandom(3), { id: 'cam0', fps: 30, pixels: { width: 320, height: 180, pixelFormat: 'YUYV' }, buffers: 8 });
    const manager = new SyncCaptureManager({ policy: { name: 'barrier' }, clock: scheduler.clock, timers: scheduler.timers });
    manager.addCamera(camera, { fps: 30 });
    await manager.start();
    const dir = join(mkdtempSync(join(tmpdir(), 'syncap-rec-')), 'bag');
    const info = camera.info!;
    const recorder = await Ros2Recorder.create({
      dir,
      cameras: [{ id: 'cam0', width: 320, height: 180, pixelFormat: info.pixelFormat, buffers: info.buffers }],
    });
    await scheduler.runUntilAsync(scheduler.nowNs + 200_000_000n, () => new Promise((r) => setImmediate(r)));
    const group = await manager.nextGroup(0);
    expect(group).toBeDefined();
    const bytes = group!.frames.get('cam0')!.data!.bytes;
    recorder.recordGroup(group!);
    // What a driver's STREAMOFF does to a zero-copy view: its ArrayBuffer is detached.
    structuredClone(bytes.buffer, { transfer: [bytes.buffer as ArrayBuffer] });
    expect(bytes.byteLength).toBe(0);
    await manager.stop();
    const stats = await recorder.close();
    expect(stats, JSON.stringify(stats)).toMatchObject({ framesTakenBack: 1 });
    const images = (await messages(join(dir, 'bag_0.mcap'))).messages.filter((m) => m.topic === '/cam0/image_raw');
    expect(images).toHaveLength(1);
    expect((images[0]!.value as unknown as Image).data.byteLength).toBe(320 * 180 * 2);
  });

  it('a copied frame is a copy even when its bytes are a Node Buffer (as V4L2 frames are): the driver may take the buffer back at once', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'syncap-rec-')), 'bag');
    const recorder = await Ros2Recorder.create({ dir, cameras: [{ id: 'cam0', width: 64, height: 32, pixelFormat: 'GREY', buffers: 8 }] });
    const pixels = Buffer.alloc(64 * 32, 7);
    // A small frame is copied and released at once; release detaches its buffer, as V4L2's does.
    const data = { bytes: pixels as Uint8Array, release: () => structuredClone(pixels.buffer, { transfer: [pixels.buffer as ArrayBuffer] }) };
    const frame = { cameraId: 'cam0', seq: 0, rigTimeNs: 1_700_000_000_000_000_000n, deviceTimeNs: 1n, flags: 0, data } as unknown as Frame;
    const group = {
      id: 0,
      timeNs: frame.rigTimeNs,
      spanNs: 0,
      complete: true,
      frames: new Map([['cam0', frame]]),
      missing: [],
      release: () => data.release(),
    } as unknown as FrameGroup;
    recorder.recordGroup(group);
    expect(pixels.byteLength).toBe(0);
    await recorder.close();
    const images = (await messages(join(dir, 'bag_0.mcap'))).messages.filter((m) => m.topic === '/cam0/image_raw');
    expect(images).toHaveLength(1);
    const bytes = (images[0]!.value as unknown as Image).data;
    expect(bytes.byteLength).toBe(64 * 32);
    expect(bytes.every((b) => b === 7)).toBe(true);
  });

  it('refuses to write into a directory that is not empty, naming it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'syncap-rec-'));
    await Ros2Recorder.create({ dir: join(dir, 'a'), cameras: [{ id: 'c', width: 2, height: 2, pixelFormat: 'GREY' }] }).then((r) => r.close());
    await expect(Ros2Recorder.create({ dir: join(dir, 'a'), cameras: [{ id: 'c', width: 2, height: 2, pixelFormat: 'GREY' }] })).rejects.toMatchObject({
      code: 'E_EXISTS',
      message: expect.stringMatching(/a\b.*is not empty/),
    });
  });
});
