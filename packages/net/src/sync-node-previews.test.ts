import { type CameraDevice, ClockMapper } from '@syncap/core';
import { SeededRandom, SimCamera, SimScheduler } from '@syncap/sim';
import { describe, expect, it } from 'vitest';
import { memoryConnectionPair } from './memory-connection.js';
import { SyncClient } from './sync-client.js';
import { SyncNode } from './sync-node.js';
import { SyncServer } from './sync-server.js';
import type { ThumbnailFeedOptions } from './thumbnail-feed.js';

// What a node tells the server about cameras it sends no thumbnails of, so the dashboard can
// say why instead of showing an empty tile: a format its thumbnailer cannot read (H264), a
// simulated camera without pixels, or thumbnails turned off.

/** A camera that reports H264 once open, as an H264 V4L2 camera does. */
class H264Camera extends SimCamera {
  override get info() {
    const info = super.info;
    return info && { ...info, pixelFormat: 'H264' };
  }
}

async function announced(thumbnails: ThumbnailFeedOptions | undefined): Promise<Record<string, string | undefined>> {
  const scheduler = new SimScheduler(1_000_000_000n);
  const random = new SeededRandom(5);
  const clock = { nowNs: () => scheduler.nowNs };
  const server = new SyncServer({ token: 'k', clock, timers: scheduler.timers });
  const pixels = { width: 64, height: 36, pixelFormat: 'YUYV' } as const;
  const devices: CameraDevice[] = [
    new SimCamera(scheduler, random.fork('yuyv'), { id: 'yuyv', fps: 30, pixels }),
    new H264Camera(scheduler, random.fork('h264'), { id: 'h264', fps: 30, pixels }),
    new SimCamera(scheduler, random.fork('timing'), { id: 'timing', fps: 30 }),
  ];
  const client = new SyncClient({
    connect: async () => {
      const [mine, theirs] = memoryConnectionPair(['n', 'server']);
      server.accept(theirs);
      return mine;
    },
    nodeId: 'n',
    token: 'k',
    cameras: devices.map((d) => ({ id: d.id, fps: 30 })),
    clock,
    timers: scheduler.timers,
    random: { next: () => 0.5 },
    session: 's',
  });
  const node = new SyncNode({
    nodeId: 'n',
    cameras: devices.map((device) => ({ device, fps: 30 })),
    mapper: new ClockMapper(),
    sampleClock: () => ({ monotonicNs: scheduler.nowNs, offsetNs: 0n, uncertaintyNs: 100 }),
    monotonic: clock,
    timers: scheduler.timers,
    phaseLock: false,
    client,
    ...(thumbnails ? { thumbnails } : {}),
  });
  await node.start();
  await scheduler.runUntilAsync(scheduler.nowNs + 200_000_000n);
  const cameras = server.status().nodes.find((n) => n.nodeId === 'n')?.cameras ?? [];
  await node.stop();
  server.close();
  return Object.fromEntries(cameras.map((c) => [c.id, c.noPreview]));
}

describe('SyncNode preview notes', () => {
  it('says in its hello which cameras have no thumbnails and why; a camera that has them gets no note', async () => {
    const thumbnailer = { supports: (f: string) => f === 'YUYV' || f === 'MJPG', make: async () => new Uint8Array([0xff, 0xd8, 0xff, 0xd9]) };
    expect(await announced({ thumbnailer, intervalMs: 1000 })).toEqual({
      yuyv: undefined,
      h264: 'H264 frames are not decoded for previews',
      timing: 'a simulated camera without pixels (timing only)',
    });
  });

  it('says thumbnails are off for every camera of a node that sends none', async () => {
    expect(await announced(undefined)).toEqual({
      yuyv: 'thumbnails are off on this node',
      h264: 'thumbnails are off on this node',
      timing: 'thumbnails are off on this node',
    });
  });
});
