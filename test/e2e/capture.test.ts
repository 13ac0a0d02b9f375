import { mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runNodeCli, runServerCli } from '../support/cli.js';
import { readIndexed, readStreamed } from '../support/mcap.js';
import { NODE_BIN, startProcess, waitFor } from '../support/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'syncap-capture-'));

describe('syncap-node capture', () => {
  it('records a readable MCAP and a replayable trace from simulated cameras', async () => {
    const rec = join(dir, 'rec');
    const trace = join(dir, 'rig.jsonl');
    const r = await runNodeCli(['capture', '--simulate', '3', '--frames', '45', '--record', rec, '--trace', trace]);
    expect(r.code).toBe(0);
    const final = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    expect(final).toMatchObject({ final: true, groups: 45 });
    const [file] = readdirSync(rec);
    const reader = await readIndexed(join(rec, file!));
    let groups = 0;
    for await (const m of reader.readMessages({ topics: ['/syncap/groups'] })) groups += m.data.byteLength > 0 ? 1 : 0;
    expect(groups).toBeGreaterThanOrEqual(45);
    const replay = await runNodeCli(['replay', trace, '--policy', 'window', '--flush']);
    expect(replay.code).toBe(0);
    expect(replay.stdout.trim().split('\n').length).toBeGreaterThanOrEqual(45);
  }, 60_000);

  it('SIGKILL mid-recording leaves a file readable up to its last complete chunk', async () => {
    const rec = join(dir, 'killed');
    const p = startProcess(NODE_BIN, ['capture', '--simulate', '3', '--record', rec]);
    const file = await waitFor(
      () => {
        const f = readdirSync(rec, { withFileTypes: true }).find((e) => e.name.endsWith('.mcap'));
        return f && statSync(join(rec, f.name)).size > 600 * 1024 ? join(rec, f.name) : undefined;
      },
      40_000,
      'the recording to pass 600 KiB (a few chunks)',
    );
    p.child.kill('SIGKILL');
    await new Promise((r) => p.child.once('exit', r));
    const { records, complete } = await readStreamed(file);
    expect(complete).toBe(false); // no footer: the process never finished
    // The reader expands each complete chunk into its messages; the torn last one is left out.
    const messages = records.flatMap((r) => (r.type === 'Message' ? [r] : []));
    const groups = messages.filter((m) => records.some((c) => c.type === 'Channel' && c.id === m.channelId && c.topic === '/syncap/groups'));
    expect(messages.length).toBeGreaterThan(100);
    expect(groups.length).toBeGreaterThan(20);
    for (const m of messages) expect(() => JSON.parse(new TextDecoder().decode(m.data))).not.toThrow();
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
    expect((await runNodeCli(['capture', '--camera', 'video0'])).stderr).toMatch(/is not \/dev\/videoN\[:WxH@fps\[:FOURCC\]\]/);
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
