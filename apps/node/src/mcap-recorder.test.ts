import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FrameGroup, SyncCaptureManager } from '@syncap/core';
import { SeededRandom, SimCamera, SimScheduler } from '@syncap/sim';
import { describe, expect, it } from 'vitest';
import { readIndexed } from '../../../test/support/mcap.js';
import { McapRecorder } from './mcap-recorder.js';

const dir = mkdtempSync(join(tmpdir(), 'syncap-mcap-'));

describe('MCAP recording', () => {
  it('records every grouped frame with matching timestamps, the group channel and the rig metadata', async () => {
    const scheduler = new SimScheduler(0n);
    const random = new SeededRandom(3);
    const cams = ['a', 'b', 'c'].map(
      (id) => new SimCamera(scheduler, random.fork(id), { id, fps: 30, width: 8, height: 4, payloadBytes: 32, jitterNs: 100_000, dropRate: 0.05 }),
    );
    const manager = new SyncCaptureManager({ policy: { name: 'window' }, clock: scheduler.clock, timers: scheduler.timers });
    for (const c of cams) manager.addCamera(c);
    const path = join(dir, 'sim.mcap');
    const recorder = await McapRecorder.create(path, {
      cameras: cams.map((c) => ({ id: c.id, width: 8, height: 4, pixelFormat: 'GREY' })),
      metadata: { policy: 'window' },
      chunkSize: 4096,
    });
    await manager.start();
    const expected = new Map<string, { logTime: bigint; publishTime: bigint; seq: number; first: number }>();
    let groups = 0;
    const consume = (async () => {
      for await (const g of manager) {
        for (const [cam, f] of g.frames) {
          f.data!.bytes[0] = groups % 256;
          expected.set(`${cam}:${f.deviceTimeNs}`, { logTime: g.timeNs, publishTime: f.deviceTimeNs, seq: f.seq, first: groups % 256 });
        }
        recorder.recordGroup(g);
        groups++;
        g.release();
      }
    })();
    await scheduler.runUntilAsync(3_000_000_000n);
    await manager.stop();
    await consume;
    recorder.recordClock({ monotonicNs: 1n, offsetNs: 2n, uncertaintyNs: 3 }, 3_000_000_000n);
    const stats = await recorder.close();
    expect(stats.groups).toBe(groups);
    expect(Object.values(stats.droppedByCamera).every((n) => n === 0)).toBe(true);

    const reader = await readIndexed(path);
    const topics = new Map([...reader.channelsById].map(([id, ch]) => [id, ch.topic]));
    expect([...topics.values()].sort()).toEqual(['/camera/a', '/camera/b', '/camera/c', '/syncap/clock', '/syncap/groups']);
    const metadata = [];
    for await (const m of reader.readMetadata()) metadata.push(m);
    expect(metadata[0]?.name).toBe('syncap.rig');
    let images = 0;
    const groupRecords: Array<{ frames: Record<string, { seq: number; t: string }>; t: string }> = [];
    for await (const msg of reader.readMessages()) {
      const topic = topics.get(msg.channelId)!;
      const body = JSON.parse(new TextDecoder().decode(msg.data));
      if (topic.startsWith('/camera/')) {
        const cam = topic.slice('/camera/'.length);
        const want = expected.get(`${cam}:${msg.publishTime}`);
        expect(want, `unexpected frame ${cam} at ${msg.publishTime}`).toBeDefined();
        expect(msg.logTime).toBe(want!.logTime);
        expect(Buffer.from(body.data, 'base64')[0]).toBe(want!.first);
        expect(body).toMatchObject({ width: 8, height: 4, encoding: 'mono8', frame_id: cam });
        images++;
      } else if (topic === '/syncap/groups') {
        groupRecords.push(body);
        expect(BigInt(body.t)).toBe(msg.logTime);
      }
    }
    expect(images).toBe(expected.size);
    expect(groupRecords).toHaveLength(groups);
    // The group channel names exactly the frames the camera channels hold.
    const members = groupRecords.reduce((n, g) => n + Object.keys(g.frames).length, 0);
    expect(members).toBe(images);
  });

  it('records foxglove.CompressedImage when asked to encode', async () => {
    const path = join(dir, 'jpeg.mcap');
    const recorder = await McapRecorder.create(path, { cameras: [{ id: 'a', width: 16, height: 8, pixelFormat: 'YUYV' }], encode: 'jpeg' });
    const bytes = new Uint8Array(16 * 8 * 2).map((_, i) => (i % 2 === 0 ? 200 : 128));
    const frame = { cameraId: 'a', seq: 0, deviceTimeNs: 5n, rigTimeNs: 5n, flags: 0, data: { bytes, release() {} } };
    recorder.recordGroup(new FrameGroup(0, ['a'], [frame]));
    await recorder.close();
    const reader = await readIndexed(path);
    const schemas = [...reader.schemasById.values()].map((s) => s.name);
    expect(schemas).toContain('foxglove.CompressedImage');
    let images = 0;
    for await (const m of reader.readMessages({ topics: ['/camera/a'] })) {
      const body = JSON.parse(new TextDecoder().decode(m.data));
      expect(body.format).toBe('jpeg');
      const jpegBytes = Buffer.from(body.data, 'base64');
      expect([jpegBytes[0], jpegBytes[1]]).toEqual([0xff, 0xd8]); // JPEG start-of-image marker
      images++;
    }
    expect(images).toBe(1);
  });
});
