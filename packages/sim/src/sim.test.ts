import { FrameFlags } from '@syncap/core';
import { describe, expect, it } from 'vitest';
import { SeededRandom } from './seeded-random.js';
import { SimCamera } from './sim-camera.js';
import { SimNetwork } from './sim-network.js';
import { simulateRig } from './sim-rig.js';
import { SimScheduler } from './sim-scheduler.js';
import { formatTraceFrame, parseTraceFrame, parseTraceHeader } from './trace-format.js';

describe('SimScheduler', () => {
  it('runs tasks in time then insertion order on virtual time, and skips cancelled ones', () => {
    const s = new SimScheduler(100n);
    const log: string[] = [];
    s.at(300n, () => log.push(`c@${s.nowNs}`));
    s.at(200n, () => log.push(`a@${s.nowNs}`));
    s.at(200n, () => log.push(`b@${s.nowNs}`));
    s.at(250n, () => log.push('cancelled')).cancel();
    s.after(50, () => s.after(1, () => log.push(`nested@${s.nowNs}`)));
    s.runUntil(260n);
    expect(log).toEqual(['nested@151', 'a@200', 'b@200']);
    expect(s.nowNs).toBe(260n);
    s.runAll();
    expect(log.at(-1)).toBe('c@300');
  });
  it('refuses to run forever', () => {
    const s = new SimScheduler();
    const loop = () => s.after(1, loop);
    loop();
    expect(() => s.runAll(1000)).toThrow(/more than 1000 tasks/);
  });
});

describe('SeededRandom', () => {
  it('replays a stream for a seed and keeps named streams independent', () => {
    const a = new SeededRandom(42).fork('cam0');
    const b = new SeededRandom(42).fork('cam0');
    const c = new SeededRandom(42).fork('cam1');
    const xs = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(xs);
    expect(Array.from({ length: 5 }, () => c.next())).not.toEqual(xs);
    for (const x of xs) expect(x >= 0 && x < 1).toBe(true);
  });
  it('normal draws have about unit variance', () => {
    const r = new SeededRandom(1);
    const n = 20_000;
    let s2 = 0;
    for (let i = 0; i < n; i++) s2 += r.normal() ** 2;
    expect(s2 / n).toBeGreaterThan(0.95);
    expect(s2 / n).toBeLessThan(1.05);
  });
});

describe('SimCamera', () => {
  it('starts at the requested instant, runs at its rate with its ppm error, and carries ground truth', async () => {
    const s = new SimScheduler();
    const cam = new SimCamera(s, new SeededRandom(1), { id: 'a', fps: 100, ppm: 100, exposureNs: 0, deliveryLatencyNs: 0 });
    const times: bigint[] = [];
    cam.onFrame((f) => {
      times.push(f.deviceTimeNs);
      expect(f.truthNs).toBe(f.deviceTimeNs);
      f.data?.release();
    });
    await cam.open();
    const r = await cam.start({ atNs: 1_000_000_000n });
    expect(r.startedAtNs).toBe(1_000_000_000n);
    s.runUntil(2_000_000_000n);
    expect(times[0]).toBe(1_000_000_000n);
    // 10 ms × (1 + 100 ppm) = 10.001 ms per frame.
    expect(Number(times[99]! - times[0]!)).toBeCloseTo(99 * 10_001_000, -1);
  });

  it('counts drops in the sequence and flags the frame after a loss', async () => {
    const s = new SimScheduler();
    const cam = new SimCamera(s, new SeededRandom(5), { id: 'a', fps: 100, dropRate: 0.3 });
    const seqs: number[] = [];
    let flagged = 0;
    cam.onFrame((f) => {
      if (seqs.length > 0 && f.seq - seqs.at(-1)! > 1) expect(f.flags & FrameFlags.DROP_BEFORE).toBe(FrameFlags.DROP_BEFORE);
      if (f.flags & FrameFlags.DROP_BEFORE) flagged++;
      seqs.push(f.seq);
      f.data?.release();
    });
    await cam.open();
    await cam.start();
    s.runUntil(1_000_000_000n);
    expect(cam.counts.drop).toBeGreaterThan(10);
    expect(cam.counts.delivered + cam.counts.drop).toBe(cam.counts.exposed);
    // Every loss shows as a sequence gap (or lies after the last delivered frame).
    const gaps = seqs.reduce((n, seq, i) => n + (i === 0 ? seq : seq - seqs[i - 1]! - 1), 0);
    expect(gaps + (cam.counts.exposed - 1 - seqs.at(-1)!)).toBe(cam.counts.drop);
    expect(flagged).toBeGreaterThan(5);
  });

  it('loses frames when the consumer holds every buffer, and recovers when released', async () => {
    const s = new SimScheduler();
    const cam = new SimCamera(s, new SeededRandom(5), { id: 'a', fps: 100, buffers: 3 });
    const held: Array<() => void> = [];
    cam.onFrame((f) => held.push(() => f.data!.release()));
    await cam.open();
    await cam.start();
    s.runUntil(100_000_000n);
    expect(held).toHaveLength(3);
    expect(cam.counts['no-buffer']).toBeGreaterThan(0);
    for (const release of held.splice(0)) release();
    s.runUntil(200_000_000n);
    expect(held.length).toBe(3);
  });

  it('reports lost on disconnect and needs reconnect + start to stream again', async () => {
    const s = new SimScheduler();
    const cam = new SimCamera(s, new SeededRandom(1), { id: 'a', fps: 10 });
    const events: string[] = [];
    cam.onEvent((e) => events.push(e.type));
    await cam.open();
    await cam.start();
    s.runUntil(500_000_000n);
    cam.disconnect();
    const before = cam.counts.delivered;
    s.runUntil(1_000_000_000n);
    // Unplugged: nothing delivered; the instants it would have exposed at are counted lost.
    expect(cam.counts.delivered).toBe(before);
    expect(cam.counts.disconnected).toBe(5);
    await expect(cam.start()).rejects.toThrow(/disconnected/);
    cam.reconnect();
    await cam.start();
    s.runUntil(2_000_000_000n);
    expect(cam.counts.delivered).toBeGreaterThan(before);
    expect(events).toEqual(['lost', 'reconnected']);
  });

  it('a rig run is a pure function of its seed', () => {
    const opts = { seed: 9, cameras: 4, fps: 30, durationNs: 1e9, camera: { jitterNs: 1e5, dropRate: 0.1, jitterShape: 'heavy' as const } };
    const a = simulateRig(opts).frames.map(formatTraceFrame);
    const b = simulateRig(opts).frames.map(formatTraceFrame);
    expect(a).toEqual(b);
    expect(simulateRig({ ...opts, seed: 10 }).frames.map(formatTraceFrame)).not.toEqual(a);
  });
});

describe('SimNetwork', () => {
  it('delivers in order after latency, turns loss into retransmission delay, and holds everything while partitioned', () => {
    const s = new SimScheduler();
    const net = new SimNetwork(s, new SeededRandom(4), { latencyNs: 1_000_000, jitterNs: 0, lossRate: 0.3, retransmitNs: 50_000_000 });
    const deliver = net.deliverer();
    const got: Array<[number, bigint]> = [];
    for (let i = 0; i < 50; i++) deliver(() => got.push([i, s.nowNs]), 0);
    s.runAll();
    expect(got.map(([i]) => i)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(net.counts.retransmitted).toBeGreaterThan(5);
    expect(got.at(-1)![1]).toBeGreaterThanOrEqual(50_000_000n);
    net.partition();
    deliver(() => got.push([99, s.nowNs]), 1);
    s.runAll();
    expect(got).toHaveLength(50);
    expect(net.heldMessages).toBe(1);
    // As over TCP: what the partition held arrives after it heals, before anything sent later.
    net.heal();
    deliver(() => got.push([100, s.nowNs]), 1);
    s.runAll();
    expect(got.slice(-2).map(([i]) => i)).toEqual([99, 100]);
    expect(net.heldMessages).toBe(0);
  });
});

describe('trace format', () => {
  it('round-trips a frame and names what is wrong with a bad line', () => {
    const ids = new Set(['a']);
    const line = '{"cam":"a","seq":3,"t":"1000","arrival":"1200","flags":["drop-before"],"truth":"990"}';
    const frame = parseTraceFrame(line, 2, ids);
    expect(frame).toMatchObject({ cameraId: 'a', seq: 3, rigTimeNs: 1000n, arrivalNs: 1200n, truthNs: 990n, flags: FrameFlags.DROP_BEFORE });
    expect(formatTraceFrame(frame)).toBe(line);
    expect(() => parseTraceFrame('{"cam":"a","seq":-1,"t":"1"}', 7, ids)).toThrow(/trace line 7: seq:/);
    expect(() => parseTraceFrame('{"cam":"a","seq":1,"t":"1","flags":["odd"]}', 8, ids)).toThrow(/unknown flag "odd"/);
    expect(() => parseTraceFrame('not json', 9, ids)).toThrow(/trace line 9: not JSON/);
    expect(() => parseTraceHeader('{"syncapTrace":2,"cameras":[{"id":"a"}]}')).toThrow(/not a syncap trace v1 header/);
    expect(() => parseTraceHeader('{"syncapTrace":1,"cameras":[{"id":"a"},{"id":"a"}]}')).toThrow(/appears twice/);
  });
});
