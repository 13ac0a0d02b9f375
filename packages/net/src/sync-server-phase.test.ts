import { describe, expect, it } from 'vitest';
import { channelTimebaseSampler } from './channel-timebase.js';
import { memoryConnectionPair } from './memory-connection.js';
import { PROTOCOL_VERSION } from './protocol.js';
import { SyncServer } from './sync-server.js';

const T = 33_333_333;
const noTimers = { setTimeout: () => 0, clearTimeout: () => {} };

function node(server: SyncServer, nodeId: string) {
  const [mine, theirs] = memoryConnectionPair([nodeId, 'server']);
  const heard: Array<Record<string, unknown>> = [];
  mine.onMessage((t) => heard.push(JSON.parse(t)));
  server.accept(theirs);
  mine.send(JSON.stringify({ type: 'hello', v: PROTOCOL_VERSION, nodeId, token: 'k', cameras: [{ id: 'c', fps: 30 }] }));
  let batch = 0;
  return {
    heard,
    report(firstId: number, times: number[]) {
      const groups = times.map((t, i) => ({ id: firstId + i, t: String(t), spanNs: 0, frames: { c: { seq: firstId + i, t: String(t) } } }));
      mine.send(JSON.stringify({ type: 'groups', batch: batch++, groups }));
    },
    ptp(state: string, channelOffsetNs?: number) {
      mine.send(JSON.stringify({ type: 'ptp', state, ...(channelOffsetNs !== undefined ? { channelOffsetNs, channelErrorNs: 1000 } : {}) }));
    },
  };
}

describe('SyncServer phase tracking', () => {
  it('reports each node residual phase and drift against the reference, and flags a PTP claim the channel contradicts', () => {
    let now = 10_000_000_000n;
    const logs: string[] = [];
    const server = new SyncServer({ token: 'k', clock: { nowNs: () => now }, timers: noTimers, log: (_l, m) => logs.push(m) });
    const a = node(server, 'a');
    const b = node(server, 'b');
    a.ptp('master');
    b.ptp('slave', 5_000_000);
    // a on the grid; b 250 µs late and drifting +10 µs per frame (300 ppm).
    const base = 300 * T;
    a.report(
      0,
      Array.from({ length: 32 }, (_, k) => base + k * T),
    );
    b.report(
      0,
      Array.from({ length: 32 }, (_, k) => base + k * T + 250_000 + k * 10_000),
    );
    now += 2_000_000_000n;
    const status = server.status();
    expect(status.reference).toBe('a');
    const sb = status.nodes.find((n) => n.nodeId === 'b')!;
    expect(sb.residualPhaseNs!).toBeGreaterThan(250_000);
    expect(sb.residualPhaseNs!).toBeLessThan(250_000 + 32 * 10_000);
    expect(sb.driftPpm!).toBeCloseTo(300, 0);
    expect(sb.ptpDisagrees).toBe(true);
    expect(status.nodes.find((n) => n.nodeId === 'a')!.ptpDisagrees).toBe(false);
    expect(logs).toEqual(expect.arrayContaining(['node a connected', 'node b connected', 'reference node is now a']));
  });

  it('with adjustments on, tells a node off the reference phase to shift, at most once per cooldown', () => {
    const server = new SyncServer({ token: 'k', clock: { nowNs: () => 10_000_000_000n }, timers: noTimers, adjust: true, phaseToleranceNs: 100_000 });
    const a = node(server, 'a');
    const b = node(server, 'b');
    a.ptp('master');
    const base = 300 * T;
    a.report(
      0,
      Array.from({ length: 8 }, (_, k) => base + k * T),
    );
    b.report(
      0,
      Array.from({ length: 8 }, (_, k) => base + k * T + 2_000_000),
    );
    b.report(
      8,
      Array.from({ length: 8 }, (_, k) => base + (8 + k) * T + 2_000_000),
    );
    const adjusts = b.heard.filter((m) => m.type === 'adjust');
    expect(adjusts).toHaveLength(1);
    expect(adjusts[0]).toMatchObject({ kind: 'shift-phase' });
    expect(adjusts[0]!.offsetNs as number).toBeCloseTo(-2_000_000, -3);
    expect(a.heard.some((m) => m.type === 'adjust')).toBe(false);
  });

  it('the channel timebase adds the measured server offset to the local clock', () => {
    const local = () => ({ monotonicNs: 5n, offsetNs: 1_000n, uncertaintyNs: 10 });
    expect(channelTimebaseSampler({ channelOffset: () => undefined }, local)()).toEqual(local());
    expect(channelTimebaseSampler({ channelOffset: () => ({ offsetNs: 400.4, errorBoundNs: 50, samples: 3 }) }, local)()).toEqual({
      monotonicNs: 5n,
      offsetNs: 1_400n,
      uncertaintyNs: 60,
    });
  });
});
