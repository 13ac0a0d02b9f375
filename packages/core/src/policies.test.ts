import { describe, expect, it } from 'vitest';
import { ConfigError } from './errors.js';
import { type Frame, timingFrame } from './frame.js';
import type { FrameGroup } from './frame-group.js';
import type { DiscardReason, PolicyOutput } from './grouping-policy.js';
import type { PolicyConfig } from './policy-config.js';
import { createPolicy } from './policy-factory.js';
import { RingQueue } from './ring-queue.js';

function collect(config: PolicyConfig, cams: string[], frames: Frame[], flush = false) {
  const groups: FrameGroup[] = [];
  const discarded: Array<[string, DiscardReason]> = [];
  const out: PolicyOutput = { group: (g) => groups.push(g), discard: (f, r) => discarded.push([`${f.cameraId}#${f.seq}`, r]) };
  const policy = createPolicy(
    config,
    cams.map((id) => ({ id })),
    out,
  );
  for (const f of frames) policy.push(f);
  if (flush) policy.flush();
  return { groups, discarded, policy };
}
const f = (cam: string, seq: number, t: number) => timingFrame(cam, seq, BigInt(t));
const members = (g: FrameGroup) => [...g.frames.values()].map((x) => `${x.cameraId}#${x.seq}`).join(',');

describe('FrameGroup', () => {
  it('time is the earliest member, span max − min, missing in rig order', () => {
    const { groups } = collect({ name: 'window', toleranceNs: 1000, minCameras: 2 }, ['a', 'b', 'c'], [f('b', 0, 1500), f('a', 0, 1200), f('c', 0, 9000)]);
    const g = groups[0]!;
    expect(g.timeNs).toBe(1200n);
    expect(g.spanNs).toBe(300);
    expect(g.complete).toBe(false);
    expect(g.missing).toEqual(['c']);
    expect(g.isWellSynced(1000)).toBe(false);
    expect([...g.frames.keys()]).toEqual(['a', 'b']);
  });
});

describe('window', () => {
  it('waits for a camera until it shows a frame past the window, then emits incomplete', () => {
    const { groups } = collect({ name: 'window', toleranceNs: 100 }, ['a', 'b', 'c'], [f('a', 0, 1000), f('b', 0, 1050), f('c', 0, 5000)]);
    expect(groups.map(members)).toEqual(['a#0,b#0']);
    expect(groups[0]!.complete).toBe(false);
  });
  it('emits a partial group after maxWait of frame time when a camera is silent', () => {
    const frames = [f('a', 0, 0), f('b', 0, 10), f('a', 1, 100), f('b', 1, 110), f('a', 2, 200)];
    expect(collect({ name: 'window', toleranceNs: 50, maxWaitNs: 150 }, ['a', 'b', 'c'], frames).groups.map(members)).toEqual(['a#0,b#0']);
    expect(collect({ name: 'window', toleranceNs: 50, maxWaitNs: 1000 }, ['a', 'b', 'c'], frames).groups).toEqual([]);
  });
  it('discards a frame without enough peers as stale, and late and out-of-order frames by name', () => {
    const r = collect(
      { name: 'window', toleranceNs: 10, maxWaitNs: 1000 },
      ['a', 'b'],
      [f('a', 0, 0), f('b', 0, 500), f('a', 1, 505), f('b', 1, 400), f('a', 2, 505), f('z', 0, 1)],
    );
    expect(r.groups.map(members)).toEqual(['a#1,b#0']);
    expect(r.discarded).toEqual([
      ['a#0', 'stale'],
      ['b#1', 'out-of-order'],
      ['a#2', 'out-of-order'],
      ['z#0', 'unknown-camera'],
    ]);
  });
  it('bounds each camera queue and counts the overflow', () => {
    const frames = Array.from({ length: 10 }, (_, i) => f('a', i, i * 1000));
    const r = collect({ name: 'window', queueSize: 3, maxWaitNs: 1e12 }, ['a', 'b'], frames);
    expect(r.policy.pendingFrames).toBe(3);
    expect(r.discarded.filter(([, why]) => why === 'overflow')).toHaveLength(7);
  });
  it('rejects bad options by name', () => {
    expect(() => collect({ name: 'window', toleranceNs: -1 }, ['a'], [])).toThrow(/toleranceNs must be a non-negative number/);
    expect(() => collect({ name: 'window', minCameras: 0 }, ['a'], [])).toThrow(ConfigError);
    expect(() => createPolicy({ name: 'nope' } as never, [{ id: 'a' }], { group() {}, discard() {} })).toThrow(
      /unknown policy "nope": choose one of barrier, window/,
    );
    expect(() => createPolicy({ name: 'window' }, [{ id: 'a' }, { id: 'a' }], { group() {}, discard() {} })).toThrow(/appears twice/);
  });
});

describe('barrier', () => {
  it('groups by sequence, leaves a hole for a drop, and survives the u32 wrap', () => {
    const W = 0xffff_fffe;
    const frames = [f('a', W, 0), f('b', W, 5), f('a', W + 1, 100), f('a', 0, 200), f('b', 0, 205), f('a', 1, 300), f('b', 1, 305)];
    // b dropped W+1: group 1 holds a only; later groups stay aligned across the wrap.
    const r = collect({ name: 'barrier' }, ['a', 'b'], frames);
    expect(r.groups.map(members)).toEqual([`a#${W},b#${W}`, `a#${W + 1}`, 'a#0,b#0', 'a#1,b#1']);
  });
  it('a frame whose group already timed out is late', () => {
    const r = collect({ name: 'barrier', maxWaitNs: 50 }, ['a', 'b'], [f('a', 0, 0), f('a', 1, 100), f('b', 0, 110)]);
    expect(r.groups.map(members)).toEqual(['a#0']);
    expect(r.discarded).toEqual([['b#0', 'late']]);
  });
});

describe('exact', () => {
  it('groups identical timestamps and drops older incomplete ones when a newer completes', () => {
    const r = collect({ name: 'exact' }, ['a', 'b'], [f('a', 0, 100), f('a', 1, 200), f('b', 1, 200), f('b', 2, 300)], true);
    expect(r.groups.map(members)).toEqual(['a#1,b#1', 'b#2']);
    expect(r.groups[1]!.flushed).toBe(true);
    expect(r.discarded).toEqual([['a#0', 'stale']]);
  });
});

describe('approximate', () => {
  it('publishes as soon as the inter-frame lower bound proves optimality', () => {
    const frames = [f('a', 0, 1000), f('b', 0, 1010)];
    // Without bounds a's next frame might still come at 1010 and make a tighter set: wait for it.
    expect(collect({ name: 'approximate' }, ['a', 'b'], frames).groups).toHaveLength(0);
    expect(collect({ name: 'approximate' }, ['a', 'b'], [...frames, f('a', 1, 2000)]).groups.map(members)).toEqual(['a#0,b#0']);
    // With a 900 ns lower bound a's next frame is at ≥ 1900: the set is provably optimal now.
    const early = collect({ name: 'approximate', minIntervalNs: { a: 900, b: 900 } }, ['a', 'b'], frames);
    expect(early.groups.map(members)).toEqual(['a#0,b#0']);
  });
  it('rejects a lower bound for a camera not in the rig', () => {
    expect(() => collect({ name: 'approximate', minIntervalNs: { zz: 1 } }, ['a', 'b'], [])).toThrow(/minIntervalNs names camera "zz"/);
  });
});

describe('RingQueue', () => {
  it('is a FIFO with front insertion and indexed access across growth', () => {
    const q = new RingQueue<number>(2);
    for (let i = 0; i < 5; i++) q.push(i);
    q.unshift(-1);
    expect(q.toArray()).toEqual([-1, 0, 1, 2, 3, 4]);
    expect(q.shift()).toBe(-1);
    expect(q.pop()).toBe(4);
    expect(q.at(1)).toBe(1);
    expect(q.peekLast()).toBe(3);
    expect(q.length).toBe(4);
  });
});
