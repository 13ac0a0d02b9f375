import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { explain, runSoakCli } from './soak-cli.js';

/**
 * Seeds on which a campaign found a bug, kept once it was fixed. Each runs exactly as
 * the failing campaign did (one seed determines the run).
 */
const REGRESSIONS = [
  {
    args: ['--seed', '1', '--hours', '0.25', '--hosts', '3', '--cameras', '2'],
    found:
      'a restarted node was ignored by the server (its report ids restart at 0: now hello carries a session); a 2 ms clock step wound up the PTP servo (now clamped to 500 ppm)',
  },
  {
    args: ['--seed', '14', '--hours', '1', '--hosts', '4', '--cameras', '3'],
    found:
      'after a server restart, nodes reconnecting one by one restarted the global policy and groups came out of time order (now late reports are discarded and counted)',
  },
  {
    args: ['--seed', '32', '--hours', '1', '--hosts', '2', '--cameras', '1', '--fault-every-s', '30'],
    found: 'the harness let a server restart end a partition still in progress on another host (disruptions are now counted per host)',
  },
  {
    // The fault plan's prefix does not depend on --hours: 5.4 h replays the first 5.4 h of the 24 h run that failed.
    args: ['--seed', '7', '--hours', '5.4', '--hosts', '3', '--cameras', '2'],
    found: 'a partitioned node resent batches a server had discarded as late; the restarted server grouped them (counted as reprocessed, not a duplicate)',
  },
  {
    args: ['--seed', '6', '--hours', '1', '--hosts', '3', '--cameras', '2'],
    found: 'holdover froze a PTP correction kick and left a 39 ms error to slew (the recovery bound now includes it)',
  },
];

describe('soak regressions', () => {
  for (const r of REGRESSIONS) {
    it(`${r.args.join(' ')}: ${r.found}`, async () => {
      const run = await runSoakCli(r.args);
      expect(run.summary.ok, explain(run)).toBe(true);
    }, 600_000);
  }

  it('replaying a seed gives the same events in the same order', async () => {
    const dir = tmpdir();
    const files = [join(dir, `soak-a-${process.pid}.jsonl`), join(dir, `soak-b-${process.pid}.jsonl`)];
    const args = ['--seed', '77', '--hours', '0.3', '--hosts', '3', '--cameras', '2', '--fault-every-s', '30'];
    const [a, b] = [await runSoakCli([...args, '--events', files[0]!]), await runSoakCli([...args, '--events', files[1]!])];
    expect(a.summary.events).toBeGreaterThan(50);
    expect(b.summary.eventsDigest).toBe(a.summary.eventsDigest);
    const [ea, eb] = await Promise.all(files.map((f) => readFile(f, 'utf8')));
    expect(eb).toBe(ea);
    expect(ea!.split('\n').filter((l) => l.includes('"fault-start"')).length).toBeGreaterThan(10);
    // A different seed is a different run.
    const c = await runSoakCli(['--seed', '78', ...args.slice(2)]);
    expect(c.summary.eventsDigest).not.toBe(a.summary.eventsDigest);
  }, 600_000);

  it('a violated invariant fails the run and prints the command that replays it', async () => {
    // A recovery bound no rig can meet: the first fault's recovery is a violation.
    const run = await runSoakCli(['--seed', '5', '--hours', '0.2', '--recovery-bound-s', '0.001', '--faults', 'node-crash']);
    expect(run.code).toBe(1);
    expect(run.summary.ok).toBe(false);
    expect(run.summary.invariants['recovery to lock within bound']!.violations).toBeGreaterThan(0);
    expect(run.stderr).toMatch(/replay: npm run soak -- --seed 5 --hours 0.2 --hosts 3 --cameras 2 --faults node-crash --recovery-bound-s 0.001/);
  }, 120_000);

  it('bad options are refused with the reason', async () => {
    await expect(runSoakCli(['--faults', 'meteor'])).rejects.toThrow(/unknown fault kind "meteor"/);
    await expect(runSoakCli(['--hours', '-1'])).rejects.toThrow(/--hours takes a positive number/);
  }, 60_000);
});
