import { describe, expect, it } from 'vitest';
import { FrameLedger, type LedgerViolation } from './frame-ledger.js';

const S = 1_000_000_000n;

function ledger() {
  const violations: LedgerViolation[] = [];
  const l = new FrameLedger({ resolveWithinNs: 10e9, rememberNs: 60e9, onViolation: (v) => violations.push(v) });
  return { l, violations };
}

describe('FrameLedger', () => {
  it('follows frames to their end and adds up: exposed = grouped + lost + in flight', () => {
    const { l, violations } = ledger();
    l.exposedAndLost('camera:drop');
    l.captured('n', 'n/a', 100n, 99n, 0n);
    l.captured('n', 'n/b', 101n, 99n, 0n);
    l.captured('n', 'n/a', 200n, 199n, 0n);
    l.locallyGrouped('n/a', 100n);
    l.locallyGrouped('n/b', 101n);
    expect(l.globallyGrouped('n/a', 100n, true, 1n, 1)).toBe(99n);
    l.lost('n/b', 101n, 'server-discard:late', 1n, 1);
    expect(l.outcomes).toMatchObject({ exposed: 4, grouped: 1, lost: { 'camera:drop': 1, 'server-discard:late': 1 } });
    expect(l.inFlight).toBe(1);
    expect(violations).toEqual([]);
  });

  it('catches a frame grouped twice, or grouped after it was counted lost', () => {
    const { l, violations } = ledger();
    l.captured('n', 'n/a', 100n, 99n, 0n);
    l.captured('n', 'n/a', 200n, 199n, 0n);
    l.locallyGrouped('n/a', 100n);
    l.locallyGrouped('n/a', 100n);
    l.globallyGrouped('n/a', 100n, true, 1n, 1);
    l.globallyGrouped('n/a', 100n, true, 2n, 1);
    l.lost('n/a', 200n, 'node-discard:stale', 2n, 1);
    l.globallyGrouped('n/a', 200n, true, 3n, 1);
    expect(violations.map((v) => v.invariant)).toEqual(['no frame in two groups', 'no frame in two groups', 'no frame in two groups']);
    expect(violations[2]!.message).toMatch(/already lost \(node-discard:stale\)/);
  });

  it('lets a restarted server group again what its predecessor grouped, and counts it', () => {
    const { l, violations } = ledger();
    l.captured('n', 'n/a', 100n, 99n, 0n);
    l.locallyGrouped('n/a', 100n);
    l.globallyGrouped('n/a', 100n, true, 1n, 1);
    l.globallyGrouped('n/a', 100n, true, 5n, 2);
    expect(violations).toEqual([]);
    expect(l.outcomes.regroupedAfterServerRestart).toBe(1);
    // Discarded by the server that died, grouped by the next: it ends grouped, and the totals still add up.
    l.captured('n', 'n/a', 200n, 199n, 0n);
    l.locallyGrouped('n/a', 200n);
    l.lost('n/a', 200n, 'server-discard:late', 6n, 2);
    l.globallyGrouped('n/a', 200n, true, 9n, 3);
    expect(violations).toEqual([]);
    expect(l.outcomes).toMatchObject({ exposed: 2, grouped: 2, lost: { 'server-discard:late': 0 }, regroupedAfterServerRestart: 2 });
    // Within one server, a second grouping is a violation.
    l.globallyGrouped('n/a', 200n, true, 10n, 3);
    expect(violations).toHaveLength(1);
  });

  it('attributes what a crash took once its grace is over, and flags frames nobody accounted for', () => {
    const { l, violations } = ledger();
    l.captured('n', 'n/a', 100n, 99n, 0n); // in the node's policy: dies with the process
    l.captured('n', 'n/a', 200n, 199n, 0n); // reported: the server may still have it
    l.locallyGrouped('n/a', 200n);
    l.captured('m', 'm/a', 100n, 99n, 0n); // another node: nobody ever ends it
    l.nodeCrashed('n', 1n * S, 5e9, 1);
    expect(l.outcomes.lost['node-crash']).toBe(1);
    // m's path was disrupted (a partition until 20 s): its deadline runs from then.
    const disrupted = (node: string) => (node === 'm' ? 20n * S : -1n);
    l.sweep(7n * S, disrupted, 1);
    expect(l.inFlight).toBe(2);
    l.sweep(11n * S, disrupted, 1);
    expect(l.outcomes.lost['node-crash']).toBe(2);
    expect(l.inFlight).toBe(1);
    l.sweep(25n * S, disrupted, 1);
    expect(violations).toEqual([]);
    l.sweep(31n * S, disrupted, 1);
    expect(violations).toHaveLength(1);
    expect(violations[0]!.invariant).toBe('every frame grouped or counted lost');
    expect(l.outcomes.lost.unaccounted).toBe(1);
    expect(l.inFlight).toBe(0);
  });
});
