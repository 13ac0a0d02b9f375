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
    for (const [id, seed] of [
      ['node-a', '1'],
      ['node-b', '2'],
    ] as const) {
      procs.push(startProcess(NODE_BIN, ['join', `ws://127.0.0.1:${port}`, '--token', 'e2e', '--simulate', '2', '--node-id', id, '--seed', seed]));
    }
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
  }, 90_000);
});
