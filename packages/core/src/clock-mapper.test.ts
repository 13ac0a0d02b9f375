import { describe, expect, it } from 'vitest';
import { ClockMapper } from './clock-mapper.js';
import { timingFrame } from './frame.js';

const sample = (monoNs: number, offsetNs: number, uncertaintyNs = 100) => ({ monotonicNs: BigInt(monoNs), offsetNs: BigInt(offsetNs), uncertaintyNs });

describe('ClockMapper', () => {
  it('follows a rig clock running at a different rate, between and beyond samples', () => {
    const m = new ClockMapper();
    // rig − mono grows 20 µs per second (20 ppm).
    for (let s = 0; s < 4; s++) m.addSample(sample(s * 1e9, 5e9 + s * 20_000));
    expect(Number(m.toRig(3_500_000_000n).rigNs - 3_500_000_000n)).toBeCloseTo(5e9 + 70_000, -1);
    expect(m.toMonotonic(m.toRig(2_250_000_000n).rigNs)).toBe(2_250_000_000n);
    const f = m.mapFrame(timingFrame('a', 0, 1_000_000_000n));
    expect(f.rigTimeNs).toBe(6_000_020_000n);
    expect(f.uncertaintyNs).toBeGreaterThanOrEqual(100);
  });

  it('detects a step, restarts its fit from it, and counts it', () => {
    const m = new ClockMapper({ stepThresholdNs: 50_000 });
    for (let s = 0; s < 4; s++) expect(m.addSample(sample(s * 1e9, 1_000_000)).step).toBe(false);
    expect(m.addSample(sample(4e9, 1_000_000 + 2_000_000)).step).toBe(true);
    expect(m.steps).toBe(1);
    expect(m.toRig(4_000_000_000n).rigNs).toBe(4_003_000_000n);
    // Noise within the bracket is not a step.
    expect(m.addSample(sample(5e9, 3_000_040, 10_000)).step).toBe(false);
  });

  it('refuses to map before it has a sample', () => {
    expect(() => new ClockMapper().toRig(0n)).toThrow(/no samples/);
  });
});
