import { hostname } from 'node:os';
import { ClockMapper, ConfigError, type FrameGroup } from '@syncap/core';
import { SyncClient, SyncNode, wsConnector } from '@syncap/net';
import { Command } from 'commander';
import { parseCameraSpec } from '../camera-spec.js';
import { nonNegativeInt, positiveInt, positiveNumber, probability } from '../cli-options.js';
import { RealtimeSimNodes } from '../realtime-rig.js';

interface JoinFlags {
  token?: string;
  nodeId: string;
  camera: string[];
  simulate?: number;
  fps: number;
  seed: number;
  ptpNoiseNs: number;
  ppm: number;
  dropRate: number;
  phaseLock: boolean;
  phaseToleranceNs: number;
  durationS?: number;
}

/**
 * `syncap-node join`: capture, report to a sync server, phase-lock to the rig grid.
 * Cameras are V4L2 devices (--camera) or simulated (--simulate N, for trying a rig
 * without hardware). Keeps capturing while the server is away.
 */
export function joinCommand(): Command {
  return new Command('join')
    .description('capture and report to a sync server (phase lock on); keeps capturing while the server is away')
    .argument('<url>', 'the server, ws://host:8888')
    .option('--token <token>', 'the server token (default: $SYNCAP_TOKEN)')
    .option(
      '--node-id <id>',
      'this node in the rig',
      hostname()
        .replace(/[^A-Za-z0-9._:-]/g, '-')
        .slice(0, 64),
    )
    .option('--camera <spec>', 'a V4L2 camera: /dev/videoN[:WxH@fps[:FOURCC]] (repeatable)', (v: string, prev: string[] = []) => [...prev, v], [] as string[])
    .option('--simulate <n>', 'use N simulated cameras instead of V4L2 devices', positiveInt('--simulate'))
    .option('--fps <fps>', 'frame rate of simulated cameras', positiveNumber('--fps'), 30)
    .option('--seed <n>', 'seed of the simulated cameras and clocks', nonNegativeInt('--seed'), 1)
    .option('--ptp-noise-ns <ns>', 'simulated PTP noise, rms', nonNegativeInt('--ptp-noise-ns'), 2000)
    .option('--ppm <ppm>', 'simulated oscillator errors within ± this', positiveNumber('--ppm'), 20)
    .option('--drop-rate <p>', 'simulated frame loss probability', probability('--drop-rate'), 0)
    .option('--phase-tolerance-ns <ns>', 'phase-lock tolerance', positiveInt('--phase-tolerance-ns'), 100_000)
    .option('--no-phase-lock', 'do not lock camera phase to the grid')
    .option('--duration-s <s>', 'stop after this many seconds (default: until Ctrl-C)', positiveNumber('--duration-s'))
    .action(async (url: string, flags: JoinFlags) => {
      if (!/^wss?:\/\/[^/]+/.test(url)) throw new ConfigError(`the server URL must look like ws://host:8888, got "${url}"`);
      const token = flags.token ?? process.env.SYNCAP_TOKEN;
      if (!token) throw new ConfigError('--token is required (or set SYNCAP_TOKEN): the server refuses nodes without it');
      if (!/^[A-Za-z0-9._:-]{1,64}$/.test(flags.nodeId))
        throw new ConfigError(`--node-id may hold letters, digits and . _ : - only (at most 64), got "${flags.nodeId}"`);
      if (!flags.simulate && flags.camera.length === 0)
        throw new ConfigError('give at least one --camera /dev/videoN (or --simulate N to try without hardware)');
      if (flags.simulate && flags.camera.length > 0) throw new ConfigError('--simulate and --camera exclude each other');

      let stop: () => Promise<void>;
      let describeState: () => string;
      if (flags.simulate) {
        const rig = new RealtimeSimNodes({
          url,
          token,
          hosts: 1,
          cameras: flags.simulate,
          fps: flags.fps,
          seed: flags.seed,
          ptpNoiseNs: flags.ptpNoiseNs,
          ppm: flags.ppm,
          jitterNs: 0,
          dropRate: flags.dropRate,
          phaseLock: flags.phaseLock,
          nodeId: flags.nodeId,
        });
        rig.start();
        const host = rig.hosts[0]!;
        stop = () => rig.stop();
        describeState = () =>
          `${host.node.lockedCameras.length}/${host.cameras.length} locked, server ${host.client.stats().connected ? 'connected' : 'away'}, backlog ${host.client.stats().backlog}`;
      } else {
        const native = await import('@syncap/native-v4l2');
        const specs = flags.camera.map((c, i) => parseCameraSpec(c, `cam${i}`));
        const cameras = specs.map((s) => ({ device: new native.V4l2Camera(s.path, s.options), fps: s.options.fps ?? 30 }));
        const clock = { nowNs: () => native.monotonicNowNs() };
        const client = new SyncClient({
          connect: wsConnector(url),
          nodeId: flags.nodeId,
          token,
          cameras: cameras.map((c) => ({ id: c.device.id, fps: c.fps })),
          clock: { nowNs: () => native.monotonicNowNs() + native.sampleClocks(4).realtimeOffsetNs },
        });
        const node = new SyncNode({
          nodeId: flags.nodeId,
          cameras,
          mapper: new ClockMapper(),
          sampleClock: () => {
            const s = native.sampleClocks(16);
            return { monotonicNs: s.monotonicNs, offsetNs: s.realtimeOffsetNs, uncertaintyNs: s.realtimeUncertaintyNs };
          },
          sampleEveryMs: 100,
          monotonic: clock,
          client,
          phaseLock: flags.phaseLock ? { toleranceNs: flags.phaseToleranceNs } : false,
          onGroup: (g: FrameGroup) => g.release(),
        });
        await node.start();
        stop = () => node.stop();
        describeState = () =>
          `${node.lockedCameras.length}/${cameras.length} locked, server ${client.stats().connected ? 'connected' : 'away'}, backlog ${client.stats().backlog}`;
      }
      process.stdout.write(`${JSON.stringify({ joined: url, nodeId: flags.nodeId })}\n`);
      const status = setInterval(() => process.stderr.write(`${flags.nodeId}: ${describeState()}\n`), 2000);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
        if (flags.durationS !== undefined) setTimeout(resolve, flags.durationS * 1000);
      });
      clearInterval(status);
      await stop();
    });
}
