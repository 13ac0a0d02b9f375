import { randomBytes } from 'node:crypto';
import { createLogger, startServerApp } from '@syncap/server';
import { Command } from 'commander';
import { nonNegativeInt, positiveInt, positiveNumber, probability } from '../cli-options.js';
import { RealtimeSimNodes } from '../realtime-rig.js';

interface DemoFlags {
  port: number;
  hosts: number;
  cameras: number;
  fps: number;
  seed: number;
  ptpNoiseNs: number;
  ppm: number;
  jitterNs: number;
  dropRate: number;
  phaseLock: boolean;
  durationS?: number;
}

/**
 * What `npm start` runs: a sync server with its dashboard and simulated nodes (drifting
 * clocks, jitter, a few drops, phase lock on), in real time over real WebSockets.
 */
export function demoCommand(): Command {
  return new Command('demo')
    .description('run a sync server and simulated nodes in real time; prints the dashboard URL and a live status line (Ctrl-C stops)')
    .option('--port <port>', 'server port (0 picks a free one; a busy 8888 falls back to a free port)', nonNegativeInt('--port'), 8888)
    .option('--hosts <n>', 'simulated nodes', positiveInt('--hosts'), 2)
    .option('--cameras <n>', 'cameras per node', positiveInt('--cameras'), 4)
    .option('--fps <fps>', 'frame rate', positiveNumber('--fps'), 30)
    .option('--seed <n>', 'simulation seed', nonNegativeInt('--seed'), 1)
    .option('--ptp-noise-ns <ns>', 'PTP measurement noise, rms', nonNegativeInt('--ptp-noise-ns'), 2000)
    .option('--ppm <ppm>', 'oscillator errors within ± this', positiveNumber('--ppm'), 30)
    .option('--jitter-ns <ns>', 'camera timestamp jitter (gaussian sd)', nonNegativeInt('--jitter-ns'), 2000)
    .option('--drop-rate <p>', 'probability a frame is lost', probability('--drop-rate'), 0.005)
    .option('--no-phase-lock', 'leave the cameras unlocked (compare the dashboard)')
    .option('--duration-s <s>', 'stop after this many seconds (default: until Ctrl-C)', positiveNumber('--duration-s'))
    .action(async (flags: DemoFlags) => {
      const log = createLogger('syncap-demo', process.env.SYNCAP_LOG_LEVEL ?? 'warn');
      const token = randomBytes(9).toString('base64url');
      let app: Awaited<ReturnType<typeof startServerApp>>;
      try {
        app = await startServerApp({ port: flags.port, token, log });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || flags.port === 0) throw error;
        process.stderr.write(`port ${flags.port} is in use; using a free port instead\n`);
        app = await startServerApp({ port: 0, token, log });
      }
      const rig = new RealtimeSimNodes({ url: `ws://127.0.0.1:${app.port}`, token, ...flags });
      rig.start();
      const tty = process.stdout.isTTY === true;
      process.stdout.write(
        `syncap demo: ${flags.hosts} simulated nodes × ${flags.cameras} cameras at ${flags.fps} fps${flags.phaseLock ? ', phase lock on' : ''}.\n` +
          `dashboard: ${app.url}\nnodes join with: syncap-node join ws://127.0.0.1:${app.port} --token ${token}\nCtrl-C stops.\n`,
      );
      let last = { groups: 0 };
      const status = setInterval(() => {
        const s = app.sync.status();
        const groupsPerSec = s.counters.globalGroups - last.groups;
        last = { groups: s.counters.globalGroups };
        const nodes = rig.hosts
          .map((h) => `${h.nodeId}: ${h.node.lockedCameras.length}/${h.cameras.length} locked, ${h.cameras.reduce((n, c) => n + c.counts.drop, 0)} drops`)
          .join(' | ');
        const phases = s.nodes.map((n) => `${n.nodeId} ${n.residualPhaseNs === undefined ? '–' : `${(n.residualPhaseNs / 1000).toFixed(1)}µs`}`).join(' ');
        const line = `global groups ${s.counters.globalGroups} (${groupsPerSec}/s, ${s.counters.incompleteGlobalGroups} incomplete) | ${nodes} | residual phase ${phases}`;
        process.stdout.write(tty ? `\r\x1b[2K${line}` : `${line}\n`);
      }, 1000);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
        if (flags.durationS !== undefined) setTimeout(resolve, flags.durationS * 1000);
      });
      clearInterval(status);
      process.stdout.write(tty ? '\nstopping…\n' : 'stopping…\n');
      await rig.stop();
      await app.close();
      const s = app.sync.status();
      process.stdout.write(
        `${JSON.stringify({ final: true, ...s.counters, nodes: s.nodes.map((n) => ({ node: n.nodeId, groups: n.groupsReceived, residualPhaseNs: n.residualPhaseNs })) })}\n`,
      );
    });
}
