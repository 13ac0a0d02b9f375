import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { FAULT_KINDS, planFaults } from './fault-plan.js';
import { ProcessTimers } from './process-timers.js';
import { PtpServoSim } from './ptp-servo-sim.js';
import { SeededRandom } from './seeded-random.js';
import { SimCamera } from './sim-camera.js';
import { SimClock } from './sim-clock.js';
import { SimScheduler } from './sim-scheduler.js';

const S = 1_000_000_000n;

describe('planFaults', () => {
  test.prop([fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 4 })], { numRuns: 25 })(
    'is a function of the seed; faults on one target never overlap; every fault starts inside the window',
    (seed, hosts, cameras) => {
      const options = { startNs: 10n * S, endNs: 7200n * S, hosts, cameras, meanGapNs: 60e9 };
      const plan = planFaults(new SeededRandom(seed), options);
      expect(planFaults(new SeededRandom(seed), options)).toEqual(plan);
      const byTarget = new Map<string, Array<{ from: bigint; to: bigint }>>();
      for (const f of plan) {
        expect(f.atNs >= options.startNs && f.atNs < options.endNs).toBe(true);
        expect(FAULT_KINDS).toContain(f.kind);
        if (f.kind === 'server-restart') expect(f.host).toBeUndefined();
        else expect(f.host! >= 0 && f.host! < hosts).toBe(true);
        if (f.kind.startsWith('camera-')) expect(f.camera! >= 0 && f.camera! < cameras).toBe(true);
        const target = f.host === undefined ? 'server' : `h${f.host}`;
        const spans = byTarget.get(target) ?? [];
        for (const s of spans) expect(f.atNs >= s.to || f.atNs + BigInt(f.durationNs) <= s.from).toBe(true);
        spans.push({ from: f.atNs, to: f.atNs + BigInt(f.durationNs) });
        byTarget.set(target, spans);
      }
      for (let i = 1; i < plan.length; i++) expect(plan[i]!.atNs >= plan[i - 1]!.atNs).toBe(true);
    },
  );

  it('draws only the kinds asked for, about as often as the mean gap says', () => {
    const plan = planFaults(new SeededRandom(3), {
      startNs: 0n,
      endNs: 36_000n * S,
      hosts: 2,
      cameras: 2,
      meanGapNs: 120e9,
      kinds: ['partition', 'clock-step'],
    });
    expect(new Set(plan.map((f) => f.kind))).toEqual(new Set(['partition', 'clock-step']));
    // 10 h / 2 min = 300 expected (Poisson): well inside ±25 %.
    expect(plan.length).toBeGreaterThan(225);
    expect(plan.length).toBeLessThan(375);
    for (const f of plan.filter((x) => x.kind === 'clock-step')) expect(Math.abs(f.magnitude!)).toBeGreaterThanOrEqual(200_000);
  });
});

describe('ProcessTimers', () => {
  it('runs timers until killed; after kill() nothing pending runs and nothing new is scheduled', () => {
    const s = new SimScheduler();
    const t = new ProcessTimers(s.timers);
    const ran: string[] = [];
    t.setTimeout(() => ran.push('a'), 1);
    const b = t.setTimeout(() => ran.push('b'), 2);
    t.setTimeout(() => ran.push('c'), 5);
    t.clearTimeout(b);
    s.runUntil(3_000_000n);
    expect(ran).toEqual(['a']);
    expect(t.size).toBe(1);
    t.kill();
    t.setTimeout(() => ran.push('d'), 1);
    s.runAll();
    expect(ran).toEqual(['a']);
    expect(t.size).toBe(0);
    expect(t.alive).toBe(false);
  });
});

describe('SimCamera faults', () => {
  it('counts exposures lost while unplugged and during a stall; a burst of drops follows setDropRate', async () => {
    const s = new SimScheduler();
    const cam = new SimCamera(s, new SeededRandom(1), { id: 'c', fps: 100 });
    const causes: Record<string, number> = {};
    let delivered = 0;
    cam.onTruth((t) => {
      if (t.delivered) delivered++;
      else causes[t.cause!] = (causes[t.cause!] ?? 0) + 1;
    });
    const events: string[] = [];
    cam.onEvent((e) => events.push(e.type));
    cam.onFrame((f) => f.data?.release());
    await cam.open();
    await cam.start();
    s.runUntil(1n * S);
    cam.stall(200e6);
    s.runUntil(2n * S);
    expect(causes.stall).toBeGreaterThanOrEqual(19);
    expect(causes.stall).toBeLessThanOrEqual(21);
    cam.disconnect();
    expect(cam.disconnected).toBe(true);
    s.runUntil(3n * S);
    expect(causes.disconnected).toBeGreaterThanOrEqual(99);
    const before = delivered;
    cam.reconnect();
    s.runUntil(4n * S);
    expect(delivered).toBe(before); // reconnected, not restarted: nothing streams
    await cam.start();
    cam.setDropRate(0.5);
    s.runUntil(5n * S);
    expect(causes.drop).toBeGreaterThan(30);
    expect(causes.drop).toBeLessThan(70);
    expect(events).toEqual(['lost', 'reconnected']);
  });
});

describe('PtpServoSim faults', () => {
  const servo = () => {
    const r = new SeededRandom(3);
    const oscillator = new SimClock(r.fork('osc'), { ppm: 15, offsetNs: 300_000, wanderPpbPerSqrtS: 1 });
    return new PtpServoSim(r.fork('ptp'), { oscillator, noiseRmsNs: 1000 });
  };

  it('slews a step out no faster than its frequency limit, then settles', () => {
    const ptp = servo();
    ptp.residualAt(50n * S);
    ptp.stepBy(10_000_000);
    expect(Math.abs(ptp.residualAt(52n * S))).toBeGreaterThan(8_000_000);
    // 500 ppm at most: 10 ms takes at least 20 s to remove.
    for (let t = 52n; t < 70n; t++) expect(Math.abs(ptp.residualAt((t + 1n) * S) - ptp.residualAt(t * S))).toBeLessThanOrEqual(500_001);
    expect(Math.abs(ptp.residualAt(200n * S))).toBeLessThan(10_000);
    expect(ptp.steps.filter((s) => s.by === 'fault')).toHaveLength(1);
  });

  it('steps back instead when step_threshold is set', () => {
    const r = new SeededRandom(3);
    const oscillator = new SimClock(r.fork('osc'), { ppm: 15 });
    const ptp = new PtpServoSim(r.fork('ptp'), { oscillator, noiseRmsNs: 1000, stepThresholdNs: 1_000_000 });
    ptp.residualAt(50n * S);
    ptp.stepBy(-5_000_000);
    ptp.residualAt(53n * S);
    expect(ptp.steps.map((s) => s.by).slice(-2)).toEqual(['fault', 'servo']);
    expect(Math.abs(ptp.residualAt(53n * S))).toBeLessThan(20_000);
  });

  it('holds its last correction through holdover and says so', () => {
    const ptp = servo();
    expect(Math.abs(ptp.residualAt(100n * S))).toBeLessThan(10_000);
    ptp.holdoverUntil(400n * S);
    expect(ptp.inHoldover(200n * S)).toBe(true);
    expect(ptp.inHoldover(400n * S)).toBe(false);
    // Without measurements the error walks away (the frozen correction is off by its last noisy kick)...
    const drifted = Math.abs(ptp.residualAt(399n * S));
    expect(drifted).toBeGreaterThan(10_000);
    expect(drifted).toBeLessThan(300 * 2_000); // ...but the oscillator's 15 ppm stays corrected
    // ...and comes back once PTP does.
    expect(Math.abs(ptp.residualAt(600n * S))).toBeLessThan(10_000);
  });
});
