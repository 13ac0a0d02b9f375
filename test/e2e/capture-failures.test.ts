import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readStreamed } from '@syncap/record';
import { afterAll, describe, expect, it } from 'vitest';
import { runNodeCli } from '../support/cli.js';
import { bagFiles, onlyBag } from '../support/ros2-bag.js';

const dir = mkdtempSync(join(tmpdir(), 'syncap-capture-fail-'));

/** A 3 MiB tmpfs to fill: a real full disk (needs root and mount). */
function smallDisk(): { path: string | undefined; reason: string | null } {
  const path = join(dir, 'full');
  mkdirSync(path, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', path], { stdio: 'pipe' });
    return { path, reason: null };
  } catch (error) {
    return { path: undefined, reason: `cannot mount a small tmpfs (${(error as Error).message.split('\n')[0]}): needs root` };
  }
}
const disk = smallDisk();
if (disk.reason) {
  if (process.env.CI === 'true') throw new Error(`the full-disk test cannot run under CI: ${disk.reason}`);
  console.warn(`full-disk test skipped: ${disk.reason}`);
}
afterAll(() => {
  if (disk.path) execFileSync('umount', [disk.path]);
});

describe('syncap-node capture when its outputs fail', () => {
  it('an unusable --record or --trace path fails at once, before any camera starts, naming the path', async () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'not a directory');
    const started = Date.now();
    const rec = await runNodeCli(['capture', '--camera', 'sim:64x48@30:GREY', '--duration', '30', '--record', file], { timeoutMs: 20_000 });
    expect(rec.code).toBe(1);
    expect(rec.stderr).toMatch(new RegExp(`cannot create the recording directory ${file}`));
    const trace = await runNodeCli(['capture', '--camera', 'sim:64x48@30:GREY', '--duration', '30', '--trace', join(dir, 'missing', 't.jsonl')], {
      timeoutMs: 20_000,
    });
    expect(trace.code).toBe(1);
    expect(trace.stderr).toMatch(/--trace .*missing\/t\.jsonl: its directory does not exist/);
    // Neither waited for its 30 s (a timer kept the old process alive after the error).
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(rec.stdout + trace.stdout).not.toMatch(/capturing/);
  }, 30_000);

  it.runIf(disk.path !== undefined)(
    'a full disk: one report, capture goes on, frames lost are counted per camera, the summary prints, what was written reads back',
    async () => {
      const r = await runNodeCli(['capture', '--camera', 'sim:320x180@30:YUYV', '--camera', 'sim:320x180@30:YUYV', '--duration', '3', '--record', disk.path!], {
        timeoutMs: 30_000,
      });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr.match(/recording stopped/g)?.length).toBe(1);
      expect(r.stderr).toMatch(/no space left|ENOSPC/i);
      expect(r.stderr).not.toMatch(/at .*\.js:\d+/); // no stack trace
      const final = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as {
        groups: number;
        recording: { framesWritten: number; writeError: string; notRecorded: Record<string, { 'write-error'?: number }> };
      };
      // Capture went on for the whole 3 s at 30 groups/s; the recorder counted what it lost, per camera.
      expect(final.groups).toBeGreaterThan(60);
      expect(final.recording.writeError).toMatch(/no space left|ENOSPC/i);
      for (const cam of ['cam0', 'cam1']) expect(final.recording.notRecorded[cam]?.['write-error'] ?? 0).toBeGreaterThan(10);
      const lost = Object.values(final.recording.notRecorded).reduce((n, c) => n + (c['write-error'] ?? 0), 0);
      expect(final.recording.framesWritten + lost).toBe(2 * final.groups);
      // What was written stays readable: whole chunks, every image whole.
      const { records } = await readStreamed(bagFiles(onlyBag(disk.path!))[0]!);
      const images = records.filter((x) => x.type === 'Message' && x.data.byteLength > 320 * 180 * 2);
      expect(images.length).toBeGreaterThan(5);
      expect(images.length).toBeLessThanOrEqual(final.recording.framesWritten);
    },
    60_000,
  );
});
