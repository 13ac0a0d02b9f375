import { fc, test } from '@fast-check/vitest';
import { type Frame, type FrameData, type FrameGroup, LatestPolicy, SyncCaptureManager, timingFrame } from '@syncap/core';
import { SeededRandom, SimCamera, SimScheduler } from '@syncap/sim';
import { describe, expect, it } from 'vitest';

/**
 * A plain model of ROS 2 LatestTime (latest_time.hpp) with its rates kept per input: the
 * Rate filter (compute_hz), the pivot search (find_pivot over a stable sort by rate) and
 * the publish rule, on each frame's arrival time.
 */
class RosLatestModel {
  private readonly rates: Array<{ prev: number; hz: number; error: number; doHzInit: boolean; doErrorInit: boolean } | undefined>;
  private readonly latest: Array<number | undefined>;
  readonly groups: Array<{ at: number; members: number[] }> = [];

  constructor(cameras: number) {
    this.rates = new Array(cameras).fill(undefined);
    this.latest = new Array(cameras).fill(undefined);
  }

  add(camera: number, arrivalNs: number, id: number): void {
    const rate = this.rates[camera];
    this.latest[camera] = id;
    if (rate === undefined) {
      this.rates[camera] = { prev: arrivalNs, hz: 0, error: 0, doHzInit: true, doErrorInit: true };
      return;
    }
    const valid = this.computeHz(rate, arrivalNs);
    if (valid && this.findPivot(arrivalNs) === camera && this.latest.every((l) => l !== undefined)) {
      this.groups.push({ at: id, members: this.latest.map((l) => l!) });
    }
  }

  private computeHz(r: NonNullable<RosLatestModel['rates'][number]>, now: number): boolean {
    let stepChange = false;
    do {
      const period = (now - r.prev) / 1e9;
      if (period <= 0) return false;
      stepChange = false;
      if (r.doHzInit) {
        r.hz = 1 / period;
        r.doHzInit = false;
      } else {
        if (r.doErrorInit) {
          r.error = Math.abs(r.hz - 1 / period);
          r.doErrorInit = false;
        } else {
          if (Math.abs(r.hz - 1 / period) > 10 * r.error) {
            r.doHzInit = true;
            r.doErrorInit = true;
            stepChange = true;
            continue;
          }
          r.error = 0.3 * Math.abs(r.hz - 1 / period) + 0.7 * r.error;
        }
        r.hz = 0.9 / period + 0.1 * r.hz;
      }
    } while (stepChange);
    r.prev = now;
    return true;
  }

  private findPivot(now: number): number {
    const indices = this.rates.map((_, i) => i).filter((i) => this.rates[i] !== undefined);
    const sorted = [...indices].sort((a, b) => this.rates[b]!.hz - this.rates[a]!.hz);
    for (const p of sorted) {
      const r = this.rates[p]!;
      const period = (now - r.prev) / 1e9;
      if (period === 0) {
        if (r.hz > 0) return p;
        continue;
      }
      if (!r.doErrorInit && r.hz - 1 / period > 10 * r.error) continue;
      if (r.hz > 0) return p;
    }
    return -1;
  }
}

interface Stream {
  readonly periodNs: number;
  readonly latencyNs: number;
  readonly jitterNs: number;
  readonly stopAtNs?: number;
  /** From this instant on the period is `slowPeriodNs`. */
  readonly slowFromNs?: number;
  readonly slowPeriodNs?: number;
}

/** Frames of cameras at their rates, in arrival order, with arrival = time + latency ± jitter. */
function framesOf(streams: readonly Stream[], seed: number, untilNs = 4e9, data?: (camera: number, seq: number) => FrameData): Frame[] {
  const random = new SeededRandom(seed);
  const frames: Frame[] = [];
  streams.forEach((s, c) => {
    const r = random.fork(`c${c}`);
    let t = 1e9 + c * 1_000;
    let lastArrival = 0;
    for (let seq = 0; t < untilNs && (s.stopAtNs === undefined || t < s.stopAtNs); seq++) {
      const arrival = Math.max(lastArrival + 1, Math.round(t + s.latencyNs + r.uniform(-s.jitterNs, s.jitterNs)));
      lastArrival = arrival;
      frames.push(timingFrame(`c${c}`, seq, BigInt(Math.round(t)), { arrivalNs: BigInt(arrival), ...(data ? { data: data(c, seq) } : {}) }));
      t += s.slowFromNs !== undefined && t >= s.slowFromNs ? s.slowPeriodNs! : s.periodNs;
    }
  });
  return frames.sort((a, b) => (a.arrivalNs! < b.arrivalNs! ? -1 : a.arrivalNs! > b.arrivalNs! ? 1 : 0));
}

function run(cameras: number, frames: readonly Frame[], options: ConstructorParameters<typeof LatestPolicy>[2] = {}) {
  const groups: Array<{ at: number; group: FrameGroup }> = [];
  const discarded: Frame[] = [];
  let at = 0;
  const policy = new LatestPolicy(
    Array.from({ length: cameras }, (_, i) => ({ id: `c${i}` })),
    { group: (group) => groups.push({ at, group }), discard: (f) => discarded.push(f) },
    options,
  );
  for (; at < frames.length; at++) policy.push(frames[at]!);
  return { policy, groups, discarded };
}

const streamArb: fc.Arbitrary<Stream> = fc.record({
  periodNs: fc.integer({ min: 5_000_000, max: 200_000_000 }),
  latencyNs: fc.integer({ min: 0, max: 20_000_000 }),
  jitterNs: fc.integer({ min: 0, max: 5_000_000 }),
  stopAtNs: fc.option(fc.integer({ min: 1_000_000_000, max: 4_000_000_000 }), { nil: undefined }),
  slowFromNs: fc.option(fc.integer({ min: 1_000_000_000, max: 4_000_000_000 }), { nil: undefined }),
  slowPeriodNs: fc.integer({ min: 5_000_000, max: 400_000_000 }),
});

describe('latest (ROS 2 LatestTime)', () => {
  test.prop([fc.array(streamArb, { minLength: 2, maxLength: 5 }), fc.integer()], { numRuns: 200 })(
    'by default, the groups of a model of LatestTime, published on the same frames',
    (streams, seed) => {
      const frames = framesOf(streams, seed);
      const model = new RosLatestModel(streams.length);
      const index = new Map(frames.map((f, i) => [f, i]));
      frames.forEach((f, i) => {
        model.add(Number(f.cameraId.slice(1)), Number(f.arrivalNs! - 1_000_000_000n), i);
      });
      const { groups } = run(streams.length, frames);
      expect(groups.map(({ at, group }) => ({ at, members: [...group.frames.values()].map((f) => index.get(f)!) }))).toEqual(model.groups);
    },
  );

  test.prop([fc.array(streamArb, { minLength: 2, maxLength: 5 }), fc.integer(), fc.option(fc.double({ min: 0.5, max: 10, noNaN: true }), { nil: undefined })], {
    numRuns: 200,
  })(
    'each group holds the latest frame of every camera (stalled ones aside) and the frame that made it; frames are all accounted for',
    (streams, seed, stallPeriods) => {
      const frames = framesOf(streams, seed);
      const { policy, groups, discarded } = run(streams.length, frames, stallPeriods === undefined ? {} : { stallPeriods });
      const latest = new Map<string, Frame>();
      let next = 0;
      const grouped = new Set<Frame>();
      for (const { at, group } of groups) {
        for (; next <= at; next++) latest.set(frames[next]!.cameraId, frames[next]!);
        expect(group.frames.get(frames[at]!.cameraId)).toBe(frames[at]);
        for (const [cam, f] of group.frames) {
          expect(f).toBe(latest.get(cam));
          grouped.add(f);
        }
        if (stallPeriods === undefined) expect(group.complete).toBe(true);
      }
      const seen = new Set([...grouped, ...discarded]);
      expect(seen.size).toBe(grouped.size + discarded.length);
      expect(grouped.size + discarded.length + policy.pendingFrames).toBe(frames.length);
      expect(policy.pendingFrames).toBeLessThanOrEqual(streams.length);
    },
  );

  it('picks the fastest camera of a mixed-rate rig as pivot: a group per frame of it', () => {
    const streams: Stream[] = [
      { periodNs: 100_000_000, latencyNs: 3_000_000, jitterNs: 500_000 },
      { periodNs: 1e9 / 60, latencyNs: 2_000_000, jitterNs: 500_000 },
      { periodNs: 1e9 / 15, latencyNs: 1_000_000, jitterNs: 500_000 },
    ];
    const frames = framesOf(streams, 1);
    const { groups, policy } = run(3, frames);
    const pivotFrames = frames.filter((f) => f.cameraId === 'c1');
    expect(groups.every(({ at }) => frames[at]!.cameraId === 'c1')).toBe(true);
    expect(groups.length).toBeGreaterThan(pivotFrames.length - 10);
    // ROS's filter weighs the newest interval 0.9: the estimate follows the jitter.
    expect(policy.ratesHz().c1).toBeGreaterThan(50);
    expect(policy.ratesHz().c1).toBeLessThan(70);
  });

  it('with a fixed pivot, one group per pivot frame once every camera has delivered', () => {
    const streams: Stream[] = [
      { periodNs: 1e9 / 30, latencyNs: 1_000_000, jitterNs: 0 },
      { periodNs: 1e9 / 5, latencyNs: 1_000_000, jitterNs: 0 },
    ];
    const frames = framesOf(streams, 2);
    const { groups } = run(2, frames, { pivot: 'c1' });
    const firstC0 = frames.findIndex((f) => f.cameraId === 'c0');
    expect(groups.map(({ at }) => frames[at]!.seq)).toEqual(frames.filter((f, i) => f.cameraId === 'c1' && i > firstC0).map((f) => f.seq));
  });

  it('a stopped camera: ROS repeats its last frame forever; with stallPeriods it is left out after that many of its intervals', () => {
    const streams: Stream[] = [
      { periodNs: 1e9 / 30, latencyNs: 1_000_000, jitterNs: 300_000 },
      { periodNs: 1e9 / 10, latencyNs: 1_000_000, jitterNs: 300_000, stopAtNs: 2e9 },
    ];
    const frames = framesOf(streams, 3);
    const lastC1 = frames.filter((f) => f.cameraId === 'c1').at(-1)!;
    const ros = run(2, frames);
    const late = ros.groups.filter(({ group }) => group.timeNs > 3_000_000_000n || group.frames.get('c0')!.rigTimeNs > 3_000_000_000n);
    expect(late.length).toBeGreaterThan(20);
    for (const { group } of late) expect(group.frames.get('c1')).toBe(lastC1);

    const robust = run(2, frames, { stallPeriods: 3 });
    const after = robust.groups.filter(({ group }) => group.frames.get('c0')!.arrivalNs! > lastC1.arrivalNs! + 350_000_000n);
    expect(after.length).toBeGreaterThan(20);
    for (const { group } of after) {
      expect(group.complete).toBe(false);
      expect(group.missing).toEqual(['c1']);
    }
    // Until three of its intervals have passed, its frame is still held.
    const within = robust.groups.filter(({ group }) => {
      const arrival = group.frames.get('c0')!.arrivalNs!;
      return arrival > lastC1.arrivalNs! && arrival < lastC1.arrivalNs! + 250_000_000n;
    });
    expect(within.length).toBeGreaterThan(3);
    for (const { group } of within) expect(group.frames.get('c1')).toBe(lastC1);
  });

  it('ROS stops emitting when the fastest camera stops right after its rate was re-estimated; stallPeriods keeps the others going', () => {
    // Perfectly regular arrivals make ROS's error estimate ~0, so a small change in c0's interval
    // is a "step change": its rate is re-estimated, and until its next frame ROS never judges it
    // late. It is still the fastest — and it never delivers again.
    const streams: Stream[] = [
      { periodNs: 33_333_333, latencyNs: 2_000_000, jitterNs: 0, slowFromNs: 2.99e9, slowPeriodNs: 34_500_000, stopAtNs: 3.05e9 },
      { periodNs: 33_333_333, latencyNs: 2_100_000, jitterNs: 0, slowFromNs: 2.99e9, slowPeriodNs: 100_000_000 },
      { periodNs: 33_333_333, latencyNs: 2_200_000, jitterNs: 0, slowFromNs: 2.99e9, slowPeriodNs: 100_000_000 },
    ];
    const frames = framesOf(streams, 4, 5e9);
    const c0Stopped = frames.filter((f) => f.cameraId === 'c0').at(-1)!.arrivalNs!;
    const ros = run(3, frames);
    expect(ros.groups.filter(({ at }) => frames[at]!.arrivalNs! > c0Stopped)).toEqual([]);
    const robust = run(3, frames, { stallPeriods: 3 });
    const after = robust.groups.filter(({ at }) => frames[at]!.arrivalNs! > c0Stopped + 200_000_000n);
    expect(after.length).toBeGreaterThan(15);
    for (const { group } of after) expect(group.missing).toEqual(['c0']);
  });

  it('zero-copy frames: each group holds its own share; a buffer goes back once, after the policy superseded it and every group holding it is released', () => {
    const released = new Map<string, number>();
    const live = new Set<FrameGroup>();
    const violations: string[] = [];
    const data = (camera: number, seq: number): FrameData => ({
      bytes: new Uint8Array(1),
      release: () => {
        const key = `c${camera}#${seq}`;
        released.set(key, (released.get(key) ?? 0) + 1);
        for (const g of live) if (g.frames.get(`c${camera}`)?.seq === seq) violations.push(`${key} released while group ${g.id} holds it`);
      },
    });
    const streams: Stream[] = [
      { periodNs: 1e9 / 60, latencyNs: 1_000_000, jitterNs: 200_000 },
      { periodNs: 1e9 / 7, latencyNs: 1_000_000, jitterNs: 200_000 },
      { periodNs: 1e9 / 20, latencyNs: 1_000_000, jitterNs: 200_000, stopAtNs: 2e9 },
    ];
    const frames = framesOf(streams, 5, 3e9, data);
    const random = new SeededRandom(6);
    const policy = new LatestPolicy(
      [{ id: 'c0' }, { id: 'c1' }, { id: 'c2' }],
      {
        group: (g) => live.add(g),
        // As the capture manager does: a discarded frame's data is released.
        discard: (f) => f.data?.release(),
      },
      { stallPeriods: 2 },
    );
    for (const f of frames) {
      policy.push(f);
      // The consumer releases groups out of order, some twice.
      for (const g of [...live]) {
        if (random.chance(0.3)) {
          live.delete(g);
          g.release();
          if (random.chance(0.2)) g.release();
        }
      }
    }
    policy.flush();
    for (const g of [...live]) {
      live.delete(g);
      g.release();
    }
    expect(violations).toEqual([]);
    expect(released.size).toBe(frames.length);
    expect([...released.values()].every((n) => n === 1)).toBe(true);
  });

  test.prop([fc.integer(), fc.integer({ min: 1, max: 8 }), fc.double({ min: 0, max: 1, noNaN: true })], { numRuns: 15 })(
    'under the capture manager: no buffer is released twice or while a group holds it, and none is leaked',
    async (seed, queueCapacity, readShare) => {
      const scheduler = new SimScheduler(0n);
      const random = new SeededRandom(seed);
      const fps = [60, 25, 10];
      const cams = fps.map(
        (f, i) => new SimCamera(scheduler, random.fork(`cam${i}`), { id: `cam${i}`, fps: f, jitterNs: 100_000, buffers: 8, dropRate: 0.02 }),
      );
      const releases = new Map<Frame, number>();
      const held = new Map<Frame, Set<FrameGroup>>();
      const violations: string[] = [];
      const manager = new SyncCaptureManager({
        policy: { name: 'latest', stallPeriods: 4 },
        clock: scheduler.clock,
        timers: scheduler.timers,
        queueCapacity,
        // Count every release of every frame's data as the policy and the manager see it.
        timebase: {
          toDeviceNs: (ns) => ns,
          mapFrame: (frame) => {
            const inner = frame.data!;
            const counted: Frame = {
              ...frame,
              data: {
                bytes: inner.bytes,
                release: () => {
                  releases.set(counted, (releases.get(counted) ?? 0) + 1);
                  if ((held.get(counted)?.size ?? 0) > 0) violations.push(`${frame.cameraId}#${frame.seq} released while a group holds it`);
                  inner.release();
                },
              },
            };
            releases.set(counted, 0);
            return counted;
          },
        },
      });
      // Which counted frame each group member stands for (members carry their own share of its data).
      const track = (g: FrameGroup, add: boolean) => {
        for (const m of g.frames.values()) {
          const f = [...releases.keys()].find((k) => k.cameraId === m.cameraId && k.seq === m.seq && k.rigTimeNs === m.rigTimeNs)!;
          if (!held.has(f)) held.set(f, new Set());
          if (add) held.get(f)!.add(g);
          else held.get(f)!.delete(g);
        }
      };
      for (const [i, c] of cams.entries()) manager.addCamera(c, { fps: fps[i] });
      await manager.start();
      const taken: FrameGroup[] = [];
      for (let step = 0; step < 30; step++) {
        await scheduler.runUntilAsync(scheduler.nowNs + 50_000_000n);
        while (manager.queuedGroups > 0 && random.chance(readShare)) {
          const g = (await manager.nextGroup(0))!;
          track(g, true);
          taken.push(g);
        }
        for (const g of taken.splice(0, random.int(0, taken.length))) {
          track(g, false);
          g.release();
          g.release();
        }
      }
      await manager.stop();
      for (let g = await manager.nextGroup(0); g; g = await manager.nextGroup(0)) taken.push(g);
      for (const g of taken) {
        track(g, false);
        g.release();
      }
      expect(violations).toEqual([]);
      expect([...releases.values()].filter((n) => n !== 1)).toEqual([]);
      for (const c of cams) expect(c.buffersInUse).toBe(0);
    },
  );
});
