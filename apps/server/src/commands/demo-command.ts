import { randomBytes } from 'node:crypto';
import { addRigFlags, nonNegativeInt, positiveNumber, RealtimeSimNodes, type RigFlag, rigSpec, rigSpecFromFlags } from '@syncap/harness';
import { Command } from 'commander';
import { createLogger } from '../logger.js';
import { type ServerApp, startServerApp } from '../server-app.js';

const RIG_FLAGS: readonly RigFlag[] = ['hosts', 'cameras', 'fps', 'seed', 'ptpNoiseNs', 'ppm', 'jitterNs', 'dropRate', 'phaseToleranceNs', 'phaseLock'];

/**
 * What `npm start` runs: a sync server with its dashboard and simulated nodes (drifting
 * clocks, PTP noise, phase lock on), in real time over real WebSockets.
 */
export function demoCommand(): Command {
  const command = new Command('demo').description(
    'run a sync server and simulated nodes in real time; prints the dashboard URL and a live status line (Ctrl-C stops)',
  );
  command.option('--port <port>', 'server port (0 picks a free one; a busy 8888 falls back to a free port)', nonNegativeInt('--port'), 8888);
  addRigFlags(command, RIG_FLAGS)
    .option('--duration-s <s>', 'stop after this many seconds (default: until Ctrl-C)', positiveNumber('--duration-s'))
    .action(async (flags: Record<string, unknown> & { port: number; durationS?: number }) => {
      const spec = rigSpec(rigSpecFromFlags(flags, RIG_FLAGS));
      const log = createLogger('syncap-demo', process.env.SYNCAP_LOG_LEVEL ?? 'warn');
      const token = randomBytes(9).toString('base64url');
      let app: ServerApp;
      try {
        app = await startServerApp({ port: flags.port, token, log });
      } catch (error) {
        if (((error as Error).cause as NodeJS.ErrnoException | undefined)?.code !== 'EADDRINUSE' || flags.port === 0) throw error;
        process.stderr.write(`port ${flags.port} is in use; using a free port instead\n`);
        app = await startServerApp({ port: 0, token, log });
      }
      const rig = new RealtimeSimNodes({ url: `ws://127.0.0.1:${app.port}`, token, spec });
      rig.start();
      const tty = process.stdout.isTTY === true;
      process.stdout.write(
        `syncap demo: ${spec.hosts} simulated nodes × ${spec.cameras} cameras at ${spec.fps} fps${spec.phaseLock ? ', phase lock on' : ''}.\n` +
          `dashboard: ${app.url}\nnodes join with: syncap-node join ws://127.0.0.1:${app.port} --token ${token}\nCtrl-C stops.\n`,
      );
      let last = { groups: 0 };
      const status = setInterval(() => {
        // The server picks a phase-locked node as the reference: tell it which are.
        for (const h of rig.hosts) h.client.reportPhaseLock({ enabled: spec.phaseLock, locked: spec.phaseLock ? h.node.lockedCameras.length : 0 });
        const s = app.sync.status();
        const groupsPerSec = s.counters.globalGroups - last.groups;
        last = { groups: s.counters.globalGroups };
        const nodes = rig.hosts
          .map(
            (h) =>
              `${h.nodeId}: ${spec.phaseLock ? `${h.node.lockedCameras.length}/${h.cameras.length} locked` : 'phase lock off'}, ${h.cameras.reduce((n, c) => n + c.counts.drop, 0)} drops`,
          )
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
  return command;
}
