import { describe, expect, it } from 'vitest';
import { explain, runSoakCli } from './soak-cli.js';

// The CI campaign: the whole rig under seeded faults for a few virtual hours per seed
// (about 30 s of CPU per virtual hour). `npm run soak -- --seed S --hours 24` runs longer ones.
const SEEDS = [2001, 2002, 2003, 2004];
const HOURS = 2;

describe('soak campaign (CI)', () => {
  for (const seed of SEEDS) {
    it(`seed ${seed}: ${HOURS} virtual hours of faults, every invariant holds`, async () => {
      const run = await runSoakCli(['--seed', String(seed), '--hours', String(HOURS), '--hosts', '3', '--cameras', '2']);
      expect(run.firstLine).toBe(`SEED=${seed}`);
      expect(run.summary.ok, explain(run)).toBe(true);
      expect(run.code).toBe(0);
      // It did what it claims: faults of many kinds, recoveries timed, every invariant exercised.
      expect(Object.keys(run.summary.faultsInjected).length).toBeGreaterThanOrEqual(5);
      for (const [name, i] of Object.entries(run.summary.invariants)) expect(i.checks, name).toBeGreaterThan(0);
      expect(Object.values(run.summary.recoveries).reduce((n, r) => n + r.count, 0)).toBeGreaterThan(10);
      const f = run.summary.frames;
      const lost = Object.values(f.lostByCause).reduce((a, b) => a + b, 0);
      expect(f.grouped + lost + f.inFlightAtEnd).toBe(f.exposed);
      expect(f.lostByCause.unaccounted ?? 0).toBe(0);
    }, 600_000);
  }
});
