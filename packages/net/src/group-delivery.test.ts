import { ClockMapper, type FrameGroup, type Timers } from '@syncap/core';
import { describe, expect, it } from 'vitest';
import { GroupDelivery } from './group-delivery.js';
import type { AdjustCommand } from './protocol.js';
import type { SyncClient } from './sync-client.js';
import { SyncNode } from './sync-node.js';

/** Virtual time in ns with timers that can be made to wake early (as ms-resolution host timers may). */
class VirtualTime implements Timers {
  nowNs = 0n;
  earlyByNs = 0;
  private readonly pending: Array<{ at: bigint; fn: () => void; id: number }> = [];
  private ids = 0;
  setTimeout(fn: () => void, delayMs: number): unknown {
    const id = ++this.ids;
    // Like Node's, a timer of 1 ms or more may fire up to `earlyByNs` early; a shorter one never does.
    const early = delayMs >= 1 ? this.earlyByNs : 0;
    this.pending.push({ at: this.nowNs + BigInt(Math.max(0, Math.round(delayMs * 1e6 - early))), fn, id });
    return id;
  }
  clearTimeout(handle: unknown): void {
    const i = this.pending.findIndex((p) => p.id === handle);
    if (i >= 0) this.pending.splice(i, 1);
  }
  async runUntil(t: bigint): Promise<void> {
    for (;;) {
      await new Promise((r) => setImmediate(r));
      this.pending.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.id - b.id));
      const next = this.pending[0];
      if (!next || next.at > t) break;
      this.pending.shift();
      this.nowNs = next.at;
      next.fn();
    }
    this.nowNs = t;
    await new Promise((r) => setImmediate(r));
  }
}

const group = (id: number, t: bigint) => ({ id, timeNs: t, release: () => {} }) as unknown as FrameGroup;

function setup(options: ConstructorParameters<typeof GroupDelivery>[0], consumeNs = 0) {
  const time = new VirtualTime();
  const got: Array<{ id: number; at: bigint }> = [];
  const delivery = new GroupDelivery(
    options,
    time,
    () => time.nowNs,
    async (g) => {
      got.push({ id: g.id, at: time.nowNs });
      if (consumeNs) await new Promise<void>((resolve) => time.setTimeout(resolve, consumeNs / 1e6));
    },
  );
  return { time, got, delivery };
}

describe('GroupDelivery', () => {
  it('hands each group over at its rig time plus the delay, in order, never early even when timers wake early', async () => {
    const { time, got, delivery } = setup({ delayNs: 50_000_000 });
    time.earlyByNs = 700_000;
    delivery.push(group(0, 10_000_000n));
    delivery.push(group(1, 43_333_333n));
    await time.runUntil(200_000_000n);
    expect(got).toEqual([
      { id: 0, at: 60_000_000n },
      { id: 1, at: 93_333_333n },
    ]);
    expect(delivery.stats()).toMatchObject({ onTime: 2, late: 0, early: 0, dropped: 0, held: 0 });
  });

  it('a late group goes at once, counted with how late it was; a changed delay applies to the groups waiting', async () => {
    const { time, got, delivery } = setup({ delayNs: 5_000_000 });
    await time.runUntil(100_000_000n);
    delivery.push(group(0, 90_000_000n));
    delivery.push(group(1, 99_000_000n));
    await time.runUntil(100_000_000n);
    expect(got.map((g) => g.id)).toEqual([0]);
    expect(delivery.stats()).toMatchObject({ late: 1, lastLateByNs: 5_000_000 });
    delivery.setDelay(50_000_000);
    await time.runUntil(200_000_000n);
    expect(got[1]).toEqual({ id: 1, at: 149_000_000n });
  });

  it('holds at most maxHeld: the oldest goes early while the application is idle, is dropped (released) while it is busy', async () => {
    const idle = setup({ delayNs: 1_000_000_000, maxHeld: 2 });
    // A group every 10 ms, due a second later: the third push finds two waiting.
    for (let i = 0; i < 5; i++) {
      await idle.time.runUntil(BigInt(i) * 10_000_000n);
      idle.delivery.push(group(i, BigInt(i) * 10_000_000n));
    }
    await idle.time.runUntil(45_000_000n);
    expect(idle.got).toEqual([
      { id: 0, at: 20_000_000n },
      { id: 1, at: 30_000_000n },
      { id: 2, at: 40_000_000n },
    ]);
    expect(idle.delivery.stats()).toMatchObject({ early: 3, dropped: 0, held: 2 });

    const released: number[] = [];
    const busy = setup({ delayNs: 0, maxHeld: 2 }, 100_000_000);
    for (let i = 0; i < 5; i++) busy.delivery.push({ ...group(i, 0n), release: () => released.push(i) } as unknown as FrameGroup);
    await busy.time.runUntil(1_000_000_000n);
    expect(busy.got.map((g) => g.id)).toEqual([0, 3, 4]);
    expect(released).toEqual([1, 2]);
    expect(busy.delivery.stats().dropped).toBe(2);
  });

  it('flush hands everything over at once and resolves when consumed', async () => {
    const { time, got, delivery } = setup({ delayNs: 1_000_000_000 });
    delivery.push(group(0, 0n));
    delivery.push(group(1, 1n));
    const done = delivery.flush();
    await time.runUntil(0n);
    await done;
    expect(got.map((g) => g.at)).toEqual([0n, 0n]);
    expect(delivery.stats().delayNs).toBe(1_000_000_000);
  });

  it('rejects a negative delay or bound by name', () => {
    expect(() => setup({ delayNs: -1 })).toThrow(/delivery.delayNs must be a non-negative number of ns/);
    expect(() => setup({ maxHeld: 0 })).toThrow(/delivery.maxHeld must be a positive integer/);
  });
});

describe('SyncNode and the server’s delivery-delay command', () => {
  function node(followServer?: boolean) {
    let command: ((c: AdjustCommand) => void) | undefined;
    const client = {
      onCommand: (l: (c: AdjustCommand) => void) => {
        command = l;
        return () => {};
      },
    } as unknown as SyncClient;
    const n = new SyncNode({
      nodeId: 'n',
      cameras: [],
      mapper: new ClockMapper(),
      sampleClock: () => ({ monotonicNs: 0n, offsetNs: 0n, uncertaintyNs: 0 }),
      monotonic: { nowNs: () => 0n },
      timers: new VirtualTime(),
      client,
      onGroup: () => {},
      delivery: { delayNs: 1_000, ...(followServer === undefined ? {} : { followServer }) },
    });
    return { n, send: (delayNs: number) => command!({ type: 'adjust', kind: 'delivery-delay', delayNs }) };
  }

  it('follows the command by default, and keeps its own delay with followServer: false', () => {
    const following = node();
    expect(following.n.deliveryDelayNs).toBe(1_000);
    following.send(40_000_000);
    expect(following.n.deliveryDelayNs).toBe(40_000_000);
    const own = node(false);
    own.send(40_000_000);
    expect(own.n.deliveryDelayNs).toBe(1_000);
    expect(own.n.deliveryStats().delayNs).toBe(1_000);
  });
});
