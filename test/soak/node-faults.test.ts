import type { FrameGroup } from '@syncap/core';
import { createSimHost, rigSpec } from '@syncap/harness';
import { type MessageConnection, memoryConnectionPair, SyncServer } from '@syncap/net';
import { SeededRandom, SimScheduler } from '@syncap/sim';
import { describe, expect, it } from 'vitest';

const S = 1_000_000_000n;

/** One simulated host with two cameras reporting to a server, on virtual time. */
function oneHost(onGroup?: (group: FrameGroup) => void | Promise<void>) {
  const scheduler = new SimScheduler(0n);
  const server = new SyncServer({ token: 't', clock: scheduler.clock, timers: scheduler.timers });
  const host = createSimHost({
    scheduler,
    random: new SeededRandom(5),
    index: 0,
    spec: rigSpec({ cameras: 2, fps: 30, ppm: 20, ptpNoiseNs: 1000 }),
    token: 't',
    onGroup,
    connect: async () => {
      const [mine, theirs] = memoryConnectionPair(['host0', 'server']);
      server.accept(theirs as MessageConnection);
      return mine;
    },
  });
  const events: string[] = [];
  host.node.onEvent((e) => events.push(`${e.type}${'cameraId' in e ? `:${e.cameraId}` : ''}`));
  return { scheduler, server, host, events };
}

describe('SyncNode under camera faults', () => {
  it('restarts a camera that comes back on the grid, and locks it again', async () => {
    const { scheduler, host, events } = oneHost();
    await scheduler.runUntilAsync(3n * S);
    await host.node.start();
    await scheduler.runUntilAsync(15n * S);
    expect(host.node.lockedCameras).toEqual(['cam0', 'cam1']);
    host.cameras[1]!.disconnect();
    await scheduler.runUntilAsync(16n * S);
    expect(host.node.lockedCameras).toEqual(['cam0']);
    host.cameras[1]!.reconnect();
    await scheduler.runUntilAsync(30n * S);
    expect(events).toContain('camera-lost:cam1');
    expect(events).toContain('camera-restarted:cam1');
    expect(host.node.lockedCameras).toEqual(['cam0', 'cam1']);
    const delivered = host.cameras[1]!.counts.delivered;
    await scheduler.runUntilAsync(31n * S);
    expect(host.cameras[1]!.counts.delivered - delivered).toBeGreaterThanOrEqual(29);
    await host.node.stop();
  });

  it('a camera unplugged while the node restarts it says why, and nothing else stops', async () => {
    const { scheduler, host, events } = oneHost();
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      await scheduler.runUntilAsync(3n * S);
      await host.node.start();
      await scheduler.runUntilAsync(10n * S);
      // Unplugged and plugged back: the node restarts it; unplugged again before the start lands.
      host.cameras[0]!.disconnect();
      host.cameras[0]!.reconnect();
      host.cameras[0]!.disconnect();
      await scheduler.runUntilAsync(12n * S);
      expect(events.filter((e) => e === 'camera-error:cam0')).toHaveLength(1);
      expect(unhandled).toEqual([]);
      const other = host.cameras[1]!.counts.delivered;
      await scheduler.runUntilAsync(13n * S);
      expect(host.cameras[1]!.counts.delivered - other).toBeGreaterThanOrEqual(29);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      await host.node.stop();
    }
  });
});

describe('SyncNode with a failing application', () => {
  it('a consumer that throws is reported; capture and reporting go on and buffers are freed', async () => {
    let calls = 0;
    const { scheduler, server, host, events } = oneHost((group) => {
      calls++;
      if (calls <= 3) throw new Error('bug in the application');
      group.release();
    });
    await scheduler.runUntilAsync(3n * S);
    await host.node.start();
    await scheduler.runUntilAsync(8n * S);
    expect(events.filter((e) => e === 'consumer-error')).toHaveLength(3);
    expect(calls).toBeGreaterThan(100);
    expect(server.status().nodes[0]!.groupsReceived).toBeGreaterThan(100);
    for (const c of host.cameras) expect(c.buffersInUse).toBeLessThanOrEqual(1);
    await host.node.stop();
  });
});
