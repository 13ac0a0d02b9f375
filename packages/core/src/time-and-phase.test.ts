import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { circularMeanPhaseNs, medianPhaseNs, nextGridInstantNs, phaseOfNs, wrapPhaseNs } from './phase.js';
import { formatInstantNs, parseInstantNs, periodNsFromFps, seqForwardDistance } from './time.js';

describe('time', () => {
  it('parses and formats decimal instants, rejecting anything else by name', () => {
    expect(parseInstantNs('1000000000')).toBe(1_000_000_000n);
    expect(formatInstantNs(-5n)).toBe('-5');
    expect(() => parseInstantNs('1e9')).toThrow(/not an instant in ns.*"1e9"/);
    expect(() => parseInstantNs('')).toThrow(RangeError);
  });
  it('computes frame periods', () => {
    expect(periodNsFromFps(30)).toBeCloseTo(33_333_333.33, 1);
  });
  it('measures sequence distance across the u32 wrap', () => {
    expect(seqForwardDistance(5, 6)).toBe(1);
    expect(seqForwardDistance(0xffff_ffff, 0)).toBe(1);
    expect(seqForwardDistance(0xffff_fffe, 3)).toBe(5);
    expect(seqForwardDistance(10, 9)).toBe(0xffff_ffff);
  });
});

describe('phase', () => {
  test.prop([fc.integer({ min: -1e12, max: 1e12 }), fc.integer({ min: 2, max: 1e9 })])(
    'wrapPhaseNs lands in [−T/2, T/2) and differs by whole periods',
    (ns, period) => {
      const p = wrapPhaseNs(ns, period);
      expect(p).toBeGreaterThanOrEqual(-period / 2);
      expect(p).toBeLessThan(period / 2);
      expect(Math.abs(((ns - p) / period) % 1)).toBeLessThan(1e-6);
    },
  );
  it('phase of an instant against the grid', () => {
    expect(phaseOfNs(1_000_000_100n, 1_000_000)).toBe(100);
    expect(phaseOfNs(999_999_900n, 1_000_000)).toBe(-100);
    expect(phaseOfNs(1_000_500_000n, 1_000_000)).toBe(-500_000);
    expect(phaseOfNs(1_000_000_100n, 1_000_000, 50)).toBe(50);
  });
  it('next grid instant', () => {
    expect(nextGridInstantNs(1_000_000_001n, 1_000_000)).toBe(1_001_000_000n);
    expect(nextGridInstantNs(1_000_000_000n, 1_000_000)).toBe(1_000_000_000n);
    expect(nextGridInstantNs(5n, 10, 3)).toBe(13n);
  });
  it('averages phases across the wrap', () => {
    const T = 1000;
    expect(Math.abs(circularMeanPhaseNs([490, -490], T))).toBeCloseTo(500, 6);
    expect(circularMeanPhaseNs([10, 20, 30], T)).toBeCloseTo(20, 6);
    // Unwrapped around the circular mean: 498, 499, 501, 600 → median 500 ≡ −500.
    expect(medianPhaseNs([499, -499, 498, -400], T)).toBeCloseTo(-500, 6);
  });
});
