import { createSimHost, rigSpec } from '@syncap/harness';
import { decodeJpeg, isJpegAvailable, jpegThumbnailer } from '@syncap/jpeg';
import { memoryConnectionPair, type ReceivedThumbnail, SyncServer } from '@syncap/net';
import { flushMicrotasks, SeededRandom, SimScheduler } from '@syncap/sim';
import { describe, expect, it } from 'vitest';

const jpegReason = isJpegAvailable() ? null : 'the JPEG addon is not built (needs libturbojpeg0-dev)';
if (jpegReason && process.env.CI === 'true') throw new Error(`live thumbnail tests cannot run under CI: ${jpegReason}`);

const S = 1_000_000_000n;

describe.runIf(jpegReason === null)('live thumbnails from a simulated node (virtual time, real JPEGs)', () => {
  it('a node sends one real JPEG per camera per second to the server, of the moving image, taken off the frame path', async () => {
    const scheduler = new SimScheduler(1_700_000_000n * S);
    const server = new SyncServer({ token: 'k', clock: scheduler.clock, timers: scheduler.timers });
    const received: Array<ReceivedThumbnail & { nodeId: string }> = [];
    server.onEvent((e) => {
      if (e.type === 'thumbnail') received.push({ ...e.thumbnail, jpeg: e.thumbnail.jpeg.slice(), nodeId: e.nodeId });
    });
    // The real thumbnailer (libjpeg-turbo on the thread pool); virtual time waits while it works.
    const real = jpegThumbnailer();
    const pending = new Set<Promise<unknown>>();
    const thumbnailer = {
      supports: real.supports,
      make: (image: Parameters<typeof real.make>[0]) => {
        const p = real.make(image);
        pending.add(p);
        void p.finally(() => pending.delete(p)).catch(() => undefined);
        return p;
      },
    };
    const host = createSimHost({
      scheduler,
      random: new SeededRandom(3),
      index: 0,
      spec: rigSpec({ hosts: 1, cameras: 2, pixels: { width: 320, height: 180, pixelFormat: 'YUYV' } }),
      token: 'k',
      connect: async () => {
        const [node, serverSide] = memoryConnectionPair(['host0', 'server']);
        server.accept(serverSide);
        return node;
      },
      thumbnails: { thumbnailer },
    });
    const settle = async () => {
      while (pending.size > 0) await Promise.allSettled([...pending]);
      await flushMicrotasks();
    };
    await scheduler.runUntilAsync(scheduler.nowNs + 3n * S, settle); // PTP settles, as a real node waits for it
    await host.node.start();
    const startNs = scheduler.nowNs;
    await scheduler.runUntilAsync(startNs + 6n * S, settle);
    await host.node.stop();
    server.close();

    for (const cam of ['cam0', 'cam1']) {
      const mine = received.filter((t) => t.cameraId === cam);
      // 6 s at one per second (the first comes with the first frame, after the start latency).
      expect(mine.length).toBeGreaterThanOrEqual(5);
      expect(mine.length).toBeLessThanOrEqual(6);
      for (let i = 1; i < mine.length; i++) {
        expect(mine[i]!.rigTimeNs - mine[i - 1]!.rigTimeNs).toBeGreaterThanOrEqual(S);
        expect(mine[i]!.rigTimeNs - mine[i - 1]!.rigTimeNs).toBeLessThan(S + 100_000_000n);
      }
      // Real JPEGs of the camera's full width (320 px: no wider), whose pixels move from one to the next.
      const [a, b] = [await decodeJpeg(mine[1]!.jpeg), await decodeJpeg(mine[2]!.jpeg)];
      expect([a.width, a.height, mine[1]!.width, mine[1]!.height]).toEqual([320, 180, 320, 180]);
      let diff = 0;
      for (let i = 0; i < a.pixels.length; i++) diff += Math.abs(a.pixels[i]! - b.pixels[i]!);
      expect(diff / a.pixels.length).toBeGreaterThan(1);
      expect(mine[1]!.jpeg.byteLength).toBeLessThan(40_000);
    }
    expect(host.node.thumbnailStats()).toMatchObject({ skippedBusy: 0, skippedBackedUp: 0, failed: 0 });
    // Frames went back to their driver at once: the thumbnails cost the cameras no buffer.
    for (const c of host.cameras) expect(c.counts['no-buffer']).toBe(0);
  });
});
