import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterAll, describe, expect, it } from 'vitest';
import { NODE_BIN, SERVER_BIN, type Started, startProcess, stop, waitFor } from '../support/processes.js';

// A real rig on 127.0.0.1: syncap-server and two syncap-node processes with simulated cameras.
describe('server and two simulated nodes as processes', () => {
  const procs: Started[] = [];
  afterAll(async () => {
    for (const p of procs) await stop(p);
  });

  it('forms global groups, exposes them in /metrics, serves the dashboard and /healthz, and stops cleanly', async () => {
    const server = startProcess(SERVER_BIN, ['--port', '0', '--token', 'e2e']);
    procs.push(server);
    const port = await waitFor(() => (server.stdout[0] ? (JSON.parse(server.stdout[0]) as { port: number }).port : undefined), 20_000, 'the server to listen');
    const base = `http://127.0.0.1:${port}`;
    const recordDir = mkdtempSync(join(tmpdir(), 'syncap-e2e-rec-'));
    procs.push(
      startProcess(NODE_BIN, [
        'join',
        `ws://127.0.0.1:${port}`,
        '--token',
        'e2e',
        '--simulate',
        '2',
        '--node-id',
        'node-a',
        '--seed',
        '1',
        '--record',
        recordDir,
      ]),
    );
    // The second node takes everything from a rig config: server, token, node id, cameras.
    const config = join(mkdtempSync(join(tmpdir(), 'syncap-e2e-')), 'rig.yaml');
    writeFileSync(
      config,
      `server: ws://127.0.0.1:${port}\ntoken: e2e\nnodeId: node-b\npolicy:\n  name: hybrid\ncameras:\n  - id: left\n    simulate: true\n  - id: right\n    simulate: true\n`,
    );
    procs.push(startProcess(NODE_BIN, ['join', '--config', config, '--seed', '2']));
    // Each node groups its own frames as it is told: the config's policy, else the default for its cameras.
    const joined = (p: Started) =>
      waitFor(
        () => p.stdout.map((l) => (l.startsWith('{"joined"') ? (JSON.parse(l) as { policy: string }) : undefined)).find(Boolean),
        20_000,
        'the joined line',
      );
    expect((await joined(procs[1]!)).policy).toBe('approximate');
    expect((await joined(procs[2]!)).policy).toBe('hybrid');
    const metrics = async () => {
      const families = parsePrometheusTextFormat(await (await fetch(`${base}/metrics`)).text());
      const value = (name: string) => Number(families.find((f) => f.name === name)?.metrics[0]?.value ?? 0);
      const connected =
        families
          .find((f) => f.name === 'syncap_node_connected')
          ?.metrics.filter((m) => m.value === '1')
          .map((m) => m.labels?.node) ?? [];
      return { groups: value('syncap_global_groups_total'), incomplete: value('syncap_global_groups_incomplete_total'), connected, families };
    };
    const m = await waitFor(
      async () => {
        const x = await metrics();
        return x.connected.length === 2 && x.groups - x.incomplete > 30 ? x : undefined;
      },
      45_000,
      'two connected nodes and 30 complete global groups',
    );
    expect(m.connected.sort()).toEqual(['node-a', 'node-b']);
    const span = m.families.find((f) => f.name === 'syncap_global_group_span_seconds');
    expect(span?.type).toBe('HISTOGRAM');
    expect(m.families.some((f) => f.name === 'syncap_node_ptp_state')).toBe(true);

    const health = await (await fetch(`${base}/healthz`)).json();
    expect(health).toMatchObject({ status: 'ok', nodes: 2 });
    const page = await (await fetch(`${base}/`)).text();
    expect(page).toContain('/vendor/uPlot.iife.min.js');
    expect((await fetch(`${base}/vendor/uPlot.iife.min.js`)).status).toBe(200);
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    const status = (await (await fetch(`${base}/api/status`)).json()) as { nodes: Array<{ nodeId: string }> };
    expect(status.nodes.map((n) => n.nodeId).sort()).toEqual(['node-a', 'node-b']);

    for (const p of procs.splice(0).reverse()) expect(await stop(p)).toBe(0);
    // node-a recorded its local groups: a complete (indexed) ROS 2 bag.
    const { bagFiles, onlyBag, readBagFile } = await import('../support/ros2-bag.js');
    const bag = await readBagFile(bagFiles(onlyBag(recordDir))[0]!);
    expect(bag.profile).toBe('ros2');
    const groups = bag.messages.filter((m) => m.topic === '/syncap/frame_groups').length;
    expect(groups).toBeGreaterThan(30);
  }, 90_000);

  it('join and the server reject bad input by name', async () => {
    const { runNodeCli } = await import('../support/cli.js');
    expect((await runNodeCli(['join'])).stderr).toMatch(/give the server URL/);
    expect((await runNodeCli(['join', 'ws://127.0.0.1:1', '--simulate', '1'])).stderr).toMatch(/--token is required/);
    expect((await runNodeCli(['join', 'ws://127.0.0.1:1', '--token', 't', '--simulate', '1', '--node-id', 'bad id'])).stderr).toMatch(/--node-id may hold/);
    expect((await runNodeCli(['join', 'ws://127.0.0.1:1', '--token', 't', '--simulate', '1', '--policy', 'nearest'])).stderr).toMatch(
      /--policy.*nearest.*approximate/s,
    );
    const server = startProcess(SERVER_BIN, ['--port', '70000']);
    expect(await new Promise((r) => server.child.once('exit', r))).toBe(2);
    expect(server.stderr.join('\n')).toMatch(/--port takes a TCP port/);
    const help = startProcess(SERVER_BIN, ['--help']);
    expect(await new Promise((r) => help.child.once('exit', r))).toBe(0);
    expect(help.stdout.join('\n')).toMatch(/--record <dir>/);
  }, 60_000);
});
