import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterEach, describe, expect, it } from 'vitest';
import { runNodeCli, runServerCli } from '../support/cli.js';
import { NODE_BIN, SERVER_BIN, type Started, startProcess, stop, waitFor } from '../support/processes.js';

// syncap-server and syncap-node join as processes on 127.0.0.1, tried as careless and hostile users would.

const procs: Started[] = [];
afterEach(async () => {
  for (const p of procs.splice(0).reverse()) await stop(p);
});

async function startServer(args: readonly string[] = []) {
  const server = startProcess(SERVER_BIN, ['--port', '0', '--token', 'e2e', ...args]);
  procs.push(server);
  const first = await waitFor(
    () => server.stdout.map((l) => (l.startsWith('{"listening"') ? (JSON.parse(l) as { port: number; run: string }) : undefined)).find(Boolean),
    20_000,
    'the server to listen',
  );
  return { server, port: first.port, base: `http://127.0.0.1:${first.port}`, run: first.run };
}

function startNode(port: number, args: readonly string[]) {
  const node = startProcess(NODE_BIN, ['join', `ws://127.0.0.1:${port}`, '--token', 'e2e', ...args]);
  procs.push(node);
  return node;
}

interface Status {
  nodes: Array<{ nodeId: string; state: string; groupsReceived: number; drops: Record<string, number> }>;
  counters: { globalGroups: number; incompleteGlobalGroups: number; duplicateReports: number };
}
const status = async (base: string, init?: RequestInit) => (await (await fetch(`${base}/api/status`, init)).json()) as Status;
const node = (s: Status, id: string) => s.nodes.find((n) => n.nodeId === id);

describe('syncap-server startup failures', () => {
  it('a server that cannot start says why and exits non-zero at once (no timer keeps it alive)', async () => {
    const { port } = await startServer();
    const dir = mkdtempSync(join(tmpdir(), 'syncap-e2e-'));
    const open = join(dir, 'token');
    writeFileSync(open, 'secret\n');
    chmodSync(open, 0o644);
    const cases: Array<[string[], RegExp]> = [
      [['--port', String(port)], /port \d+ on 127\.0\.0\.1 is in use: choose another with --port/],
      [['--port', '0', '--host', 'nonexistent.invalid'], /--host nonexistent\.invalid does not resolve/],
      [['--port', '0', '--host', ''], /--host is empty/],
      [['--port', '0', '--record', '/dev/null/x'], /--record \/dev\/null\/x: cannot write .*ENOTDIR/],
      [['--port', '0', '--token-file', open], /may be read by other users \(mode 644\): run chmod 600/],
    ];
    for (const [args, message] of cases) {
      // runCli rejects if the process outlives its timeout: before, each of these hung for ever.
      const r = await runServerCli(args, { timeoutMs: 15_000 });
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr).toMatch(message);
    }
  }, 120_000);
});

describe('nodes that restart and nodes that leave', () => {
  it('a node restarted with the same --seed is a new session: the server counts its reports', async () => {
    const { port, base } = await startServer();
    const args = ['--simulate', '2', '--seed', '1', '--node-id', 'n'];
    const first = startNode(port, args);
    const before = await waitFor(
      async () => {
        const n = node(await status(base), 'n');
        return n && n.groupsReceived > 30 ? n.groupsReceived : undefined;
      },
      30_000,
      'the first run to report 30 groups',
    );
    await new Promise((r) => {
      first.child.once('exit', r);
      first.child.kill('SIGKILL');
    });
    startNode(port, args);
    const after = await waitFor(
      async () => {
        const s = await status(base);
        const n = node(s, 'n');
        return n && n.state === 'connected' && n.groupsReceived > before + 30 ? s : undefined;
      },
      30_000,
      'the restarted run to report 30 more groups',
    );
    // Before, both runs had the session the seed gave: the second run's report ids were taken for repeats
    // of the first's and skipped (for as long as the first run had been reporting).
    expect(after.counters.duplicateReports).toBe(0);
  }, 90_000);

  it('a node that stops cleanly has left: it shows as departed and later global groups are complete', async () => {
    const { port, base } = await startServer();
    startNode(port, ['--simulate', '1', '--seed', '3', '--node-id', 'stays']);
    const leaving = startNode(port, ['--simulate', '1', '--seed', '4', '--node-id', 'leaves']);
    await waitFor(
      async () => {
        const s = await status(base);
        return s.counters.globalGroups - s.counters.incompleteGlobalGroups > 30 ? true : undefined;
      },
      40_000,
      'complete global groups from both nodes',
    );
    expect(await stop(leaving)).toBe(0);
    const gone = await waitFor(
      async () => {
        const s = await status(base);
        return node(s, 'leaves')?.state === 'departed' ? s : undefined;
      },
      10_000,
      'the node to show as departed',
    );
    expect(node(gone, 'stays')?.state).toBe('connected');
    // Groups formed from now on hold the remaining node's camera: complete, not missing the one that left.
    const later = await waitFor(
      async () => {
        const s = await status(base);
        return s.counters.globalGroups > gone.counters.globalGroups + 60 ? s : undefined;
      },
      20_000,
      '60 more global groups',
    );
    const newIncomplete = later.counters.incompleteGlobalGroups - gone.counters.incompleteGlobalGroups;
    expect(newIncomplete).toBeLessThanOrEqual(2); // at most what the policy flushed when the camera set changed
  }, 90_000);
});

describe('tokens', () => {
  it('token files, the read token, the Host check and the warning for other hosts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'syncap-e2e-'));
    const tokenFile = join(dir, 'token');
    const readFile = join(dir, 'read');
    writeFileSync(tokenFile, 'node-secret\n', { mode: 0o600 });
    writeFileSync(readFile, 'reader\n', { mode: 0o600 });
    const server = startProcess(SERVER_BIN, ['--port', '0', '--host', '0.0.0.0', '--token-file', tokenFile, '--read-token-file', readFile]);
    procs.push(server);
    const port = await waitFor(() => server.stdout.map((l) => (l.startsWith('{"listening"') ? JSON.parse(l).port : undefined)).find(Boolean), 20_000, 'listen');
    const base = `http://127.0.0.1:${port}`;
    expect(server.stderr.join('\n')).not.toMatch(/need no token/);
    const n = startProcess(NODE_BIN, ['join', `ws://127.0.0.1:${port}`, '--token-file', tokenFile, '--simulate', '1', '--node-id', 'filed']);
    procs.push(n);
    for (const path of ['/metrics', '/api/status', '/events', '/']) expect((await fetch(`${base}${path}`)).status, path).toBe(401);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/dashboard.js`)).status).toBe(200);
    const bearer = { headers: { authorization: 'Bearer reader' } };
    expect((await fetch(`${base}/metrics`, bearer)).status).toBe(200);
    expect((await fetch(`${base}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    // The page sets a cookie: its own live feed then carries the token.
    const page = await fetch(`${base}/?token=reader`);
    expect(page.status).toBe(200);
    const cookie = page.headers.get('set-cookie')!.split(';')[0]!;
    const events = await fetch(`${base}/events`, { headers: { cookie } });
    expect(events.headers.get('content-type')).toBe('text/event-stream');
    await events.body?.cancel();
    // A DNS-rebinding page names its own domain in Host.
    const { request } = await import('node:http');
    const rebound = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/healthz', headers: { host: 'attacker.example:8888' } }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(rebound.status).toBe(403);
    expect(rebound.body).toMatch(/--allow-host attacker\.example/);
    await waitFor(async () => (node(await status(base, bearer), 'filed')?.state === 'connected' ? true : undefined), 20_000, 'the node with --token-file');

    const open = startProcess(SERVER_BIN, ['--port', '0', '--host', '0.0.0.0', '--token', 't']);
    procs.push(open);
    await waitFor(() => (open.stderr.some((l) => l.includes('need no token')) ? true : undefined), 20_000, 'the warning about other hosts');
  }, 90_000);
});

describe('syncap-node join, carelessly', () => {
  it('exits non-zero when it never connected, at once with --fail-fast; says when phase lock is off; refuses a rate the server would refuse', async () => {
    const { port } = await startServer();
    const wrong = await runNodeCli(['join', `ws://127.0.0.1:${port}`, '--token', 'wrong', '--simulate', '1', '--duration-s', '6'], { timeoutMs: 30_000 });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/never connected: the server at .* refused this node: unauthorized: bad token/);
    // --fail-fast: the first refusal ends it, long before --duration-s.
    const fast = await runNodeCli(['join', `ws://127.0.0.1:${port}`, '--token', 'wrong', '--simulate', '1', '--duration-s', '600', '--fail-fast'], {
      timeoutMs: 30_000,
    });
    expect(fast.code).toBe(1);
    const away = await runNodeCli(['join', 'ws://127.0.0.1:1', '--token', 't', '--simulate', '1', '--duration-s', '600', '--fail-fast'], { timeoutMs: 30_000 });
    expect(away.code).toBe(1);
    expect(away.stderr).toMatch(/never connected: cannot reach the server at ws:\/\/127\.0\.0\.1:1: .*ECONNREFUSED/);
    const unlocked = startNode(port, ['--simulate', '2', '--no-phase-lock', '--node-id', 'free']);
    await waitFor(() => (unlocked.stderr.some((l) => l.startsWith('free: phase lock off, server connected')) ? true : undefined), 30_000, 'the status line');
    expect(unlocked.stderr.some((l) => / locked,/.test(l))).toBe(false);
    const tooFast = await runNodeCli(['join', `ws://127.0.0.1:${port}`, '--token', 'e2e', '--camera', '/dev/video0:640x480@1000000000']);
    expect(tooFast.code).toBe(2);
    expect(tooFast.stderr).toMatch(/1000000000 fps is more than the server accepts \(at most 10000\)/);
  }, 120_000);
});

describe('metrics and records', () => {
  it('simulated drops reach /metrics as counters; process metrics; a node-side /metrics; global-group records carry the server run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'syncap-e2e-rec-'));
    const runs: string[] = [];
    for (let r = 0; r < 2; r++) {
      const { port, base, run } = await startServer(['--record', dir]);
      runs.push(run);
      const n = startNode(port, ['--simulate', '2', '--drop-rate', '0.1', '--node-id', 'drops', '--metrics-port', '0', '--seed', String(r)]);
      const families = await waitFor(
        async () => {
          const f = parsePrometheusTextFormat(await (await fetch(`${base}/metrics`)).text());
          const drops = f.find((x) => x.name === 'syncap_camera_drops_total');
          const groups = Number(f.find((x) => x.name === 'syncap_global_groups_total')?.metrics[0]?.value ?? 0);
          return drops?.metrics.some((m) => Number(m.value) > 0) && groups > 20 ? f : undefined;
        },
        40_000,
        'drops of simulated cameras in the server metrics',
      );
      if (r === 0) {
        expect(families.find((f) => f.name === 'syncap_camera_drops_total')?.type).toBe('COUNTER');
        expect(families.some((f) => f.name === 'syncap_camera_drops')).toBe(false);
        for (const f of families.filter((x) => x.type === 'COUNTER')) expect(f.name).toMatch(/_total$/);
        expect(families.some((f) => f.name === 'process_cpu_user_seconds_total')).toBe(true);
        const url = await waitFor(
          () => n.stdout.map((l) => (l.startsWith('{"metrics"') ? JSON.parse(l).metrics : undefined)).find(Boolean),
          10_000,
          'node metrics URL',
        );
        const nodeFamilies = parsePrometheusTextFormat(await (await fetch(url)).text());
        expect(Number(nodeFamilies.find((f) => f.name === 'syncap_node_server_connected')?.metrics[0]?.value)).toBe(1);
        expect(nodeFamilies.find((f) => f.name === 'syncap_camera_drops_total')?.metrics).toHaveLength(2);
        expect(nodeFamilies.some((f) => f.name === 'process_resident_memory_bytes')).toBe(true);
      }
      for (const p of procs.splice(0).reverse()) expect(await stop(p)).toBe(0);
    }
    // Group ids restart with each server run; (run, group) is unique in the appended file.
    const records = readFileSync(join(dir, 'global-groups.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { run: string; group: number });
    expect(new Set(records.map((r) => r.run))).toEqual(new Set(runs));
    expect(new Set(records.map((r) => `${r.run}:${r.group}`)).size).toBe(records.length);
  }, 120_000);
});
