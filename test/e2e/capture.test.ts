import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readStreamed } from '@syncap/record';
import { readPatternStamp } from '@syncap/sim';
import { describe, expect, it } from 'vitest';
import { runNodeCli, runServerCli } from '../support/cli.js';
import { NODE_BIN, startProcess, waitFor } from '../support/processes.js';
import { bagFiles, onlyBag, readBagFile, stampNs } from '../support/ros2-bag.js';

const dir = mkdtempSync(join(tmpdir(), 'syncap-capture-'));

describe('syncap-node capture', () => {
  it('records a readable ROS 2 bag and a replayable trace from simulated cameras', async () => {
    const rec = join(dir, 'rec');
    const trace = join(dir, 'rig.jsonl');
    const r = await runNodeCli(['capture', '--simulate', '3', '--frames', '45', '--record', rec, '--trace', trace]);
    expect(r.code).toBe(0);
    const final = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    expect(final).toMatchObject({ final: true, groups: 45 });
    const bag = onlyBag(rec);
    expect(readdirSync(bag).sort()).toEqual([`${bag.split('/').at(-1)}_0.mcap`, 'metadata.yaml']);
    const { profile, messages } = await readBagFile(bagFiles(bag)[0]!);
    expect(profile).toBe('ros2');
    const groups = messages.filter((m) => m.topic === '/syncap/frame_groups');
    expect(groups.length).toBeGreaterThanOrEqual(45);
    for (const cam of ['cam0', 'cam1', 'cam2']) expect(messages.filter((m) => m.topic === `/${cam}/image_raw`).length).toBeGreaterThanOrEqual(45);
    const replay = await runNodeCli(['replay', trace, '--policy', 'window', '--flush']);
    expect(replay.code).toBe(0);
    expect(replay.stdout.trim().split('\n').length).toBeGreaterThanOrEqual(45);
  }, 60_000);

  it('SIGKILL mid-recording loses at most about a second: the file reads back to its last whole chunk', async () => {
    const rec = join(dir, 'killed');
    const p = startProcess(NODE_BIN, ['capture', '--camera', 'sim:320x180@30:YUYV', '--camera', 'sim:320x180@30:GREY', '--record', rec]);
    // The status line (JSON when stdout is not a terminal) says how many frames were handed to the recorder.
    const handed = await waitFor(
      () => {
        const last = p.stdout.filter((l) => l.startsWith('{"stats"')).at(-1);
        const written = last ? (JSON.parse(last) as { recording: { framesWritten: number } }).recording.framesWritten : 0;
        return written >= 150 ? written : undefined;
      },
      40_000,
      'the recording to pass 150 frames',
    );
    p.child.kill('SIGKILL');
    await new Promise((r) => p.child.once('exit', r));
    const bag = onlyBag(rec);
    const { records, complete } = await readStreamed(bagFiles(bag)[0]!);
    expect(complete).toBe(false); // no footer: the process never finished
    // The reader expands each whole chunk into its messages; a torn last one is left out.
    const images = records.filter(
      (r) => r.type === 'Message' && records.some((c) => c.type === 'Channel' && c.id === r.channelId && c.topic.endsWith('/image_raw')),
    );
    // At most ~1 s of two 30 fps cameras (60 frames) is lost after the last status line; none of what was read is torn.
    expect(images.length).toBeGreaterThanOrEqual(handed - 60);
    for (const m of images) if (m.type === 'Message') expect(m.data.byteLength).toBeGreaterThan(160 * 180);
    // record info reads a killed recording to its last whole chunk, and says so.
    const info = await runNodeCli(['record', 'info', bag, '--json']);
    expect(info.code, info.stderr).toBe(0);
    const summary = JSON.parse(info.stdout) as { files: Array<{ indexed: boolean }>; framesByCamera: Record<string, number> };
    expect(summary.files.map((f) => f.indexed)).toEqual([false]);
    expect((summary.framesByCamera.cam0 ?? 0) + (summary.framesByCamera.cam1 ?? 0)).toBe(images.length);
  }, 60_000);

  it('records simulated cameras with real pixels: every frame decodes to the pattern it showed, stamped in realtime', async () => {
    const rec = join(dir, 'pixels');
    const r = await runNodeCli(['capture', '--camera', 'sim:320x180@30:YUYV', '--camera', 'sim:320x240@30:MJPG', '--frames', '30', '--record', rec]);
    expect(r.code, r.stderr).toBe(0);
    const { messages } = await readBagFile(bagFiles(onlyBag(rec))[0]!);
    const raw = messages.filter((m) => m.topic === '/cam0/image_raw');
    const mjpg = messages.filter((m) => m.topic === '/cam1/image_raw/compressed');
    expect(raw.length).toBeGreaterThanOrEqual(30);
    expect(mjpg.length).toBeGreaterThanOrEqual(30);
    const now = BigInt(Date.now()) * 1_000_000n;
    for (const m of raw) {
      const stamp = readPatternStamp(m.value.data!, 320, 180, 2)!;
      // The pattern names the device instant; the header names the rig instant (mid-exposure) in realtime.
      expect(stamp.exposureNs).toBe(m.publishTime);
      expect(stampNs(m.value.header!.stamp)).toBe(m.logTime);
      expect(Number(now - m.logTime)).toBeLessThan(120e9);
    }
    expect(mjpg.every((m) => m.value.format === 'jpeg' && m.value.data![0] === 0xff && m.value.data![1] === 0xd8)).toBe(true);
    const info = await runNodeCli(['record', 'info', onlyBag(rec)]);
    expect(info.code).toBe(0);
    expect(info.stdout).toMatch(/Topic: \/cam0\/image_raw \| Type: sensor_msgs\/msg\/Image \| Count: \d+/);
    expect(info.stdout).toMatch(/Frames per camera: cam0 \d+, cam1 \d+/);
    expect(info.stdout).toMatch(/Groups: +\d+ \(\d+ complete, 0 incomplete\)/);
  }, 60_000);

  it('rejects bad configs with the key and what is allowed, and bad flags by name', async () => {
    const cases: Array<[string, RegExp]> = [
      ['cameras: []\n', /cameras: at least one camera/],
      ['cameras:\n  - id: a\n    device: video0\n', /cameras\[0\]\.device: a device path such as \/dev\/video0/],
      ['cameras:\n  - id: a\n    simulate: true\n    fps: fast\n', /cameras\[0\]\.fps: Invalid input: expected number/],
      ['cameras:\n  - id: a\n    simulate: true\npolicy:\n  name: best\n', /policy\.name: Invalid option: expected one of "barrier"\|"window"/],
      ['cameras:\n  - id: a\n    simulate: true\n  - id: a\n    simulate: true\n', /cameras\[1\]\.id: camera id "a" appears twice/],
      ['cameras: [\n', /not valid YAML \(line \d+, column \d+\)/],
      ['cameras:\n  - id: a\n    simulate: true\ncolour: red\n', /\(top level\): Unrecognized key: "colour"/],
    ];
    for (const [yaml, message] of cases) {
      const path = join(dir, 'bad.yaml');
      writeFileSync(path, yaml);
      const r = await runNodeCli(['capture', '--config', path, '--duration', '1']);
      expect(r.code, yaml).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    expect((await runNodeCli(['capture', '--config', join(dir, 'none.yaml')])).stderr).toMatch(/cannot read rig config .*no such file/);
    expect((await runNodeCli(['capture'])).stderr).toMatch(/give exactly one of --config/);
    expect((await runNodeCli(['capture', '--simulate', '2', '--frames', '0'])).stderr).toMatch(/--frames must be at least 1/);
    expect((await runNodeCli(['capture', '--camera', 'video0'])).stderr).toMatch(
      /is not DEVICE\[:WxH\[@fps\]\[:FOURCC\]\] where DEVICE is \/dev\/videoN or a \/dev\/v4l\/by-id\/… or \/dev\/v4l\/by-path\/… name/,
    );
  }, 60_000);

  it('the shipped example config validates', async () => {
    const r = await runNodeCli(['config', new URL('../../examples/rig.yaml', import.meta.url).pathname]);
    expect(r.code, r.stderr).toBe(0);
    const config = JSON.parse(r.stdout) as { cameras: Array<{ id: string }>; policy: { name: string } };
    expect(config.cameras.map((c) => c.id)).toEqual(['left', 'right']);
    expect(config.policy.name).toBe('hybrid');
  });

  it('every command has --help', async () => {
    for (const cmd of ['capture', 'join', 'devices', 'config', 'sim', 'soak', 'replay']) {
      const r = await runNodeCli([cmd, '--help']);
      expect(r.code, cmd).toBe(0);
      expect(r.stdout).toMatch(/Usage: syncap-node/);
    }
    // The demo is the server's (a sync server with simulated nodes): `npm start`.
    const demo = await runServerCli(['demo', '--help']);
    expect(demo.code).toBe(0);
    expect(demo.stdout).toMatch(/Usage: syncap-server demo/);
    const devices = await runNodeCli(['devices']);
    expect(devices.code).toBe(0);
    expect(devices.stdout).toMatch(/no V4L2 video devices|\/dev\/video/);
  }, 60_000);
});
