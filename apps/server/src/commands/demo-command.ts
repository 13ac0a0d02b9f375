import { randomBytes } from 'node:crypto';
import {
  addRigFlags,
  formatRigPixels,
  MULTI_HOST_RIG_FLAGS,
  nonNegativeInt,
  nonNegativeNumber,
  positiveNumber,
  RealtimeSimNodes,
  type RigFlag,
  type RigPixels,
  rigSpec,
  rigSpecFromFlags,
} from '@syncap/harness';
import { Command, Option } from 'commander';
import { createLogger } from '../logger.js';
import { type ServerApp, startServerApp } from '../server-app.js';

const RIG_FLAGS: readonly RigFlag[] = [...MULTI_HOST_RIG_FLAGS, 'pixels'];
/** The demo's cameras have images, small and raw so that the demo stays light (the dashboard shows them moving). */
const DEMO_PIXELS: RigPixels = { width: 320, height: 180, pixelFormat: 'YUYV' };

/**
 * What `npm start` runs: a sync server with its dashboard and simulated nodes (drifting
 * clocks, PTP noise, phase lock on, cameras with moving test-pattern images whose thumbnails
 * the dashboard shows), in real time over real WebSockets.
 */
export function demoCommand(): Command {
  const command = new Command('demo').description(
    'run a sync server and simulated nodes in real time; prints the dashboard URL and a live status line (Ctrl-C stops)',
  );
  command.option('--port <port>', 'server port (0 picks a free one; a busy 8888 falls back to a free port)', nonNegativeInt('--port'), 8888);
  addRigFlags(command, RIG_FLAGS, { pixels: DEMO_PIXELS })
    .addOption(new Option('--no-pixels', 'simulated cameras without images (timing only): the dashboard shows placeholders'))
    .option(
      '--thumbnails-per-s <n>',
      "thumbnails of each camera's latest frame the nodes send to the dashboard per second; 0 sends none",
      nonNegativeNumber('--thumbnails-per-s', 100),
      1,
    )
    .option('--duration-s <s>', 'stop after this many seconds (default: until Ctrl-C)', positiveNumber('--duration-s'))
    .action(async (flags: Record<string, unknown> & { port: number; durationS?: number; thumbnailsPerS: number }) => {
      // --no-pixels leaves `pixels` false: no images.
      const spec = rigSpec({ ...rigSpecFromFlags(flags, RIG_FLAGS), pixels: flags.pixels === false ? undefined : (flags.pixels as RigPixels) });
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
      const rig = new RealtimeSimNodes({
        url: `ws://127.0.0.1:${app.port}`,
        token,
        spec,
        ...(flags.thumbnailsPerS > 0 ? { thumbnails: { intervalMs: 1000 / flags.thumbnailsPerS } } : {}),
      });
      rig.start();
      const tty = process.stdout.isTTY === true;
      process.stdout.write(
        `syncap demo: ${spec.hosts} simulated nodes × ${spec.cameras} cameras at ${spec.fps} fps` +
          `${spec.pixels ? `, ${formatRigPixels(spec.pixels)} images` : ', no images'}${spec.phaseLock ? ', phase lock on' : ''}.\n` +
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
