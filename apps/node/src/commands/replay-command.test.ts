import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fc, test } from '@fast-check/vitest';
import { type FrameGroup, NS_PER_S, type PolicyConfig } from '@syncap/core';
import { replayTrace, simulateRig, TraceRecorder } from '@syncap/sim';
import { describe, expect, it } from 'vitest';
import { runNodeCli } from '../../../../test/support/cli.js';
import { policyConfigFromFlags } from './replay-command.js';

const dir = mkdtempSync(join(tmpdir(), 'syncap-replay-'));

function recordTrace(seed: number, cameras: number, name: string): { path: string; lines: string[] } {
  const run = simulateRig({ seed, cameras, fps: 30, durationNs: 2 * NS_PER_S, camera: { jitterNs: 300_000, dropRate: 0.05 } });
  const lines: string[] = [];
  const recorder = new TraceRecorder(
    run.cameraIds.map((id) => ({ id, fps: 30 })),
    (l) => lines.push(l),
  );
  for (const f of run.frames) recorder.record(f);
  const path = join(dir, name);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return { path, lines };
}

describe('syncap-node replay', () => {
  it('prints one JSON line per group, in the documented shape', async () => {
    const path = join(dir, 'design-example.jsonl');
    writeFileSync(
      path,
      [
        '{"syncapTrace":1,"cameras":[{"id":"a","fps":30},{"id":"b","fps":30}]}',
        '{"cam":"a","seq":0,"t":"1000000000"}',
        '{"cam":"b","seq":0,"t":"1000250000"}',
      ].join('\n'),
    );
    const r = await runNodeCli(['replay', path, '--policy', 'window']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      '{"group":0,"t":"1000000000","spanNs":250000,"complete":true,"frames":{"a":{"seq":0,"t":"1000000000"},"b":{"seq":0,"t":"1000250000"}}}\n',
    );
  });

  it('prints pending groups only with --flush, marked flushed', async () => {
    const path = join(dir, 'pending.jsonl');
    writeFileSync(
      path,
      [
        '{"syncapTrace":1,"cameras":[{"id":"a"},{"id":"b"}]}',
        '{"cam":"a","seq":0,"t":"1000"}',
        '{"cam":"b","seq":0,"t":"1100"}',
        '{"cam":"a","seq":1,"t":"5000"}',
      ].join('\n'),
    );
    const plain = await runNodeCli(['replay', path, '--policy', 'barrier']);
    expect(plain.stdout.trim().split('\n')).toHaveLength(1);
    const flushed = await runNodeCli(['replay', path, '--policy', 'barrier', '--flush']);
    const lines = flushed.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatchObject({ group: 1, complete: false, flushed: true, frames: { a: { seq: 1, t: '5000' } } });
  });

  const POLICIES: ReadonlyArray<readonly [PolicyConfig, string[]]> = [
    [{ name: 'barrier' }, []],
    [{ name: 'window' }, []],
    [{ name: 'approximate' }, []],
    [
      { name: 'approximate', agePenalty: 0, maxIntervalNs: 5_000_000, orderIndependent: true },
      ['--age-penalty', '0', '--max-interval-ns', '5000000', '--order-independent'],
    ],
    [{ name: 'exact' }, []],
    [{ name: 'hybrid' }, []],
    [{ name: 'epsilon', epsilonNs: 2_000_000, queueSize: 5 }, ['--epsilon-ns', '2000000', '--queue-size', '5']],
    [{ name: 'latest' }, []],
    [{ name: 'latest', pivot: 'cam1', stallPeriods: 3 }, ['--pivot', 'cam1', '--stall-periods', '3']],
  ];

  test.prop([fc.integer(), fc.integer({ min: 2, max: 8 }), fc.constantFrom(...POLICIES)], { numRuns: 6 })(
    'replaying a recorded trace gives byte-identical output, equal to grouping the frames live',
    async (seed, cameras, [policy, flags]) => {
      const { path, lines } = recordTrace(seed, cameras, `rec-${seed}-${cameras}-${policy.name}.jsonl`);
      const args = ['replay', path, '--policy', policy.name, ...flags, '--flush'];
      const first = await runNodeCli(args);
      const second = await runNodeCli(args);
      expect(first.stderr).toBe('');
      expect(first.code).toBe(0);
      expect(first.stdout.length).toBeGreaterThan(0);
      expect(second.stdout).toBe(first.stdout);
      const live: string[] = [];
      await replayTrace(lines, policy, (g: FrameGroup) => live.push(g.toJSONLine()), { flush: true });
      expect(first.stdout).toBe(`${live.join('\n')}\n`);
    },
  );

  it("latest: groups on the pivot camera by the trace's arrival instants, repeating the slower camera's latest frame", async () => {
    // a at 100 fps, b at 25 fps, both taken at the same instants every 40 ms; b's frames arrive
    // 0.5 ms after a's, so a group made on a's frame holds the b frame that had arrived by then.
    const header = '{"syncapTrace":1,"cameras":[{"id":"a"},{"id":"b"}]}';
    const lines = [header];
    for (let k = 0; k < 20; k++) {
      const t = 1_000_000_000 + k * 10_000_000;
      lines.push(`{"cam":"a","seq":${k},"t":"${t}","arrival":"${t + 1_000_000}"}`);
      if (k % 4 === 0) lines.push(`{"cam":"b","seq":${k / 4},"t":"${t}","arrival":"${t + 1_500_000}"}`);
    }
    const r = await runNodeCli(['replay', '-', '--policy', 'latest'], { input: `${lines.join('\n')}\n` });
    expect(r.stderr).toBe('');
    const groups = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    // a's rate is known from its second frame; then every a frame makes a group, holding b's latest.
    expect(groups.length).toBeGreaterThan(15);
    for (const g of groups) {
      expect(Object.keys(g.frames)).toEqual(['a', 'b']);
      expect(g.frames.b.seq).toBe(Math.floor((10 * g.frames.a.seq - 0.5) / 40));
    }
    const pinned = await runNodeCli(['replay', '-', '--policy', 'latest', '--pivot', 'b'], { input: `${lines.join('\n')}\n` });
    const byB = pinned.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(byB.map((g) => g.frames.b.seq)).toEqual([0, 1, 2, 3, 4]);
  });

  it('reports a malformed line with its number, exits non-zero, and keeps the groups formed before it', async () => {
    const path = join(dir, 'bad.jsonl');
    writeFileSync(
      path,
      [
        '{"syncapTrace":1,"cameras":[{"id":"a"},{"id":"b"}]}',
        '{"cam":"a","seq":0,"t":"1000"}',
        '{"cam":"b","seq":0,"t":"1000"}',
        '{"cam":"a","seq":1,"t":12}',
      ].join('\n'),
    );
    const r = await runNodeCli(['replay', path, '--policy', 'exact']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/trace line 4: t:/);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
  });

  it.each([
    [['replay', 'x.jsonl'], /--policy/],
    [['replay', 'x.jsonl', '--policy', 'fastest'], /Allowed choices are barrier, window, approximate, exact, hybrid, epsilon, latest/],
    [['replay', 'x.jsonl', '--policy', 'epsilon'], /replay flags: epsilonNs: required: a non-negative number of ns/],
    [['replay', 'x.jsonl', '--policy', 'approximate', '--age-penalty', '-1'], /replay flags: agePenalty: a non-negative number/],
    [['replay', 'x.jsonl', '--policy', 'approximate', '--max-interval-ns', '5', '--tolerance-ns', '6'], /toleranceNs: the same bound as maxIntervalNs/],
    [['replay', 'x.jsonl', '--policy', 'exact', '--pivot', 'a'], /--pivot does not apply to --policy exact/],
    [['replay', 'x.jsonl', '--policy', 'latest', '--epsilon-ns', '5'], /--epsilon-ns does not apply to --policy latest \(it takes --pivot, --stall-periods\)/],
    [['replay', 'x.jsonl', '--policy', 'window', '--tolerance-ns', '-5'], /--tolerance-ns takes a non-negative integer/],
    [['replay', 'x.jsonl', '--policy', 'approximate', '--min-interval-ns', 'cam0'], /--min-interval-ns takes <camera>=<ns>/],
    [['replay', 'x.jsonl', '--policy', 'exact', '--tolerance-ns', '5'], /--tolerance-ns does not apply to --policy exact/],
    [['replay', '/nonexistent/trace.jsonl', '--policy', 'window'], /cannot read trace "\/nonexistent\/trace.jsonl": no such file/],
    [['replay', 'x.jsonl', '--policy', 'window', '--bogus'], /unknown option '--bogus'/],
  ])('rejects %j with a clear message', async (args, message) => {
    const r = await runNodeCli(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('names the unknown camera and the header problems', async () => {
    const noHeader = await runNodeCli(['replay', '-', '--policy', 'window'], { input: '{"cam":"a","seq":0,"t":"1"}\n' });
    expect(noHeader.stderr).toMatch(/trace line 1: not a syncap trace v1 header/);
    const unknown = await runNodeCli(['replay', '-', '--policy', 'window'], {
      input: '{"syncapTrace":1,"cameras":[{"id":"a"}]}\n{"cam":"z","seq":0,"t":"1"}\n',
    });
    expect(unknown.stderr).toMatch(/trace line 2: camera "z" is not in the header \(a\)/);
  });

  it('--help lists the policies and options', async () => {
    const r = await runNodeCli(['replay', '--help']);
    expect(r.code).toBe(0);
    for (const flag of [
      '--policy',
      '--tolerance-ns',
      '--max-wait-ns',
      '--queue-size',
      '--min-cameras',
      '--min-interval-ns',
      '--max-interval-ns',
      '--age-penalty',
      '--order-independent',
      '--epsilon-ns',
      '--pivot',
      '--stall-periods',
      '--flush',
    ])
      expect(r.stdout).toContain(flag);
  });

  it('maps flags to policy configs', () => {
    expect(policyConfigFromFlags({ policy: 'approximate', minIntervalNs: { a: 30_000_000 }, queueSize: 5 })).toEqual({
      name: 'approximate',
      minIntervalNs: { a: 30_000_000 },
      queueSize: 5,
    });
    expect(policyConfigFromFlags({ policy: 'barrier', queueSize: 8 })).toEqual({ name: 'barrier', maxPendingGroups: 8 });
    expect(policyConfigFromFlags({ policy: 'approximate', agePenalty: 0.25, maxIntervalNs: 1000, orderIndependent: true })).toEqual({
      name: 'approximate',
      agePenalty: 0.25,
      maxIntervalNs: 1000,
      orderIndependent: true,
    });
    expect(policyConfigFromFlags({ policy: 'epsilon', epsilonNs: 500, queueSize: 3 })).toEqual({ name: 'epsilon', epsilonNs: 500, queueSize: 3 });
    expect(policyConfigFromFlags({ policy: 'latest', pivot: 'cam0', stallPeriods: 2.5 })).toEqual({ name: 'latest', pivot: 'cam0', stallPeriods: 2.5 });
  });
});
