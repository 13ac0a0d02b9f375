import FakeTimers from '@sinonjs/fake-timers';
import { hostTimers } from '@syncap/host';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CameraDevice, CameraEvent, StartOptions } from './camera-device.js';
import { type Frame, timingFrame } from './frame.js';
import { Listeners } from './listeners.js';
import { SyncCaptureManager } from './sync-capture-manager.js';

/** A camera driven by the test: frames are pushed by hand. */
class ManualCamera implements CameraDevice {
  readonly frames = new Listeners<Frame>();
  readonly events = new Listeners<CameraEvent>();
  info = { width: 1, height: 1, pixelFormat: 'TEST', fps: 30, timestampSource: 'unknown' as const };
  startedAt: bigint | undefined;
  constructor(readonly id: string) {}
  async open() {}
  async start(o: StartOptions = {}) {
    this.startedAt = o.atNs;
    return { startedAtNs: o.atNs ?? 0n };
  }
  async stop() {}
  async close() {}
  onFrame(l: (f: Frame) => void) {
    return this.frames.add(l);
  }
  onEvent(l: (e: CameraEvent) => void) {
    return this.events.add(l);
  }
}

describe('SyncCaptureManager with fake timers', () => {
  let clock: FakeTimers.InstalledClock;
  beforeEach(() => {
    clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout'] });
  });
  afterEach(() => clock.uninstall());

  it('nextGroup resolves null after its timeout, and with a group as soon as one forms', async () => {
    const now = { nowNs: () => BigInt(clock.now) * 1_000_000n };
    const a = new ManualCamera('a');
    const b = new ManualCamera('b');
    const manager = new SyncCaptureManager({ policy: { name: 'exact' }, clock: now, timers: hostTimers });
    manager.addCamera(a);
    manager.addCamera(b);
    await manager.start({ atNs: 5n });
    expect(a.startedAt).toBe(5n);
    expect(b.startedAt).toBe(5n);

    const timedOut = manager.nextGroup(100);
    await clock.tickAsync(99);
    a.frames.emit(timingFrame('a', 0, 10n));
    await clock.tickAsync(1);
    expect(await timedOut).toBeNull();

    const waiting = manager.nextGroup(100);
    b.frames.emit(timingFrame('b', 0, 10n));
    const g = await waiting;
    expect(g?.complete).toBe(true);
    expect(manager.stats().groups).toBe(1);
    await manager.stop();
  });

  it('a window group waiting on a dead camera is emitted by the tick after maxWait of clock time', async () => {
    const now = { nowNs: () => BigInt(clock.now) * 1_000_000n };
    const cams = ['a', 'b', 'c'].map((id) => new ManualCamera(id));
    const manager = new SyncCaptureManager({ policy: { name: 'window', maxWaitNs: 100_000_000 }, clock: now, timers: hostTimers, tickMs: 10 });
    for (const c of cams) manager.addCamera(c);
    await manager.start();
    cams[0]!.frames.emit(timingFrame('a', 0, now.nowNs()));
    cams[1]!.frames.emit(timingFrame('b', 0, now.nowNs()));
    await clock.tickAsync(90);
    expect(manager.queuedGroups).toBe(0);
    await clock.tickAsync(20);
    expect(manager.queuedGroups).toBe(1);
    const g = await manager.nextGroup(0);
    expect(g?.missing).toEqual(['c']);
    await manager.stop();
  });

  it('refuses to start twice or without cameras, and to add cameras while running', async () => {
    const now = { nowNs: () => 0n };
    const empty = new SyncCaptureManager({ policy: { name: 'window' }, clock: now, timers: hostTimers });
    await expect(empty.start()).rejects.toThrow(/no cameras/);
    const m = new SyncCaptureManager({ policy: { name: 'window' }, clock: now, timers: hostTimers });
    m.addCamera(new ManualCamera('a'));
    expect(() => m.addCamera(new ManualCamera('a'))).toThrow(/already in the rig/);
    await m.start();
    await expect(m.start()).rejects.toThrow(/start\(\) called while running/);
    expect(() => m.addCamera(new ManualCamera('b'))).toThrow(/before start/);
    await m.stop();
  });
});
