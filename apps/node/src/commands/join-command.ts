import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ClockMapper, type ClockSample, ConfigError, type FrameGroup, POLICY_NAMES, type PolicyConfig, parsePolicyConfig, SyncapError } from '@syncap/core';
import {
  addRigFlags,
  collect,
  nonNegativeInt,
  nonNegativeNumber,
  positiveInt,
  positiveNumber,
  RealtimeSimNodes,
  type RigFlag,
  rigSpec,
  rigSpecFromFlags,
} from '@syncap/harness';
import { hostRandom, hostTimers, randomSessionId, readTokenFile, stderrErrorSink, tokenFromSources } from '@syncap/host';
import { jpegThumbnailer } from '@syncap/jpeg';
import { CloseCodes, clip, MAX_CAMERA_FPS, PtpSupervisor, SyncClient, type SyncClientEvent, SyncNode, type ThumbnailStats, wsConnector } from '@syncap/net';
import { FoxgloveLiveServer, type RecorderCamera, Ros2Recorder } from '@syncap/record';
import { Command, Option } from 'commander';
import { parseCameraSpec } from '../camera-spec.js';
import { NodeMetrics } from '../node-metrics.js';
import { deviceOptionsOf, loadRigConfig } from '../rig-config.js';

/** The rig flags `join --simulate` takes (hosts is 1; cameras is --simulate's N). */
const RIG_FLAGS: readonly RigFlag[] = ['fps', 'seed', 'ptpNoiseNs', 'ppm', 'jitterNs', 'dropRate', 'phaseToleranceNs', 'phaseLock', 'pixels'];

interface JoinFlags {
  config?: string;
  record?: string;
  token?: string;
  tokenFile?: string;
  failFast?: boolean;
  metricsPort?: number;
  metricsHost: string;
  nodeId: string;
  camera: string[];
  simulate?: number;
  fps: number;
  phaseLock: boolean;
  phaseToleranceNs: number;
  durationS?: number;
  thumbnailsPerS: number;
  foxglovePort?: number;
  pixels?: unknown;
  policy?: string;
}

/**
 * `syncap-node join`: capture, report to a sync server, phase-lock to the rig grid.
 * Cameras are V4L2 devices (--camera) or simulated (--simulate N, for trying a rig
 * without hardware). Keeps capturing while the server is away.
 */
export function joinCommand(): Command {
  const command = new Command('join');
  addRigFlags(command, RIG_FLAGS);
  return command
    .description('capture and report to a sync server (phase lock on); keeps capturing while the server is away')
    .argument('[url]', "the server, ws://host:8888 (default: the config's server)")
    .option('--config <rig.yaml>', 'rig config: cameras, server, token, PTP (interface, role, timestamping)')
    .option('--token <token>', "the server token (default: the config's, else $SYNCAP_TOKEN); it shows in ps: prefer --token-file")
    .option('--token-file <path>', 'read the server token from this file (mode 600)')
    .option('--fail-fast', 'exit non-zero at once if the first connection to the server fails or is refused (default: keep capturing and retrying)')
    .option('--metrics-port <port>', "serve this node's Prometheus metrics on this port (0 picks a free one)", nonNegativeInt('--metrics-port'))
    .option('--metrics-host <address>', 'address for --metrics-port', '127.0.0.1')
    .option('--record <dir>', 'also record the local groups to MCAP here (continues while the server is away)')
    .option(
      '--node-id <id>',
      'this node in the rig',
      hostname()
        .replace(/[^A-Za-z0-9._:-]/g, '-')
        .slice(0, 64),
    )
    .option(
      '--camera <spec>',
      'a V4L2 camera (repeatable): DEVICE[:WxH[@fps][:FOURCC]] where DEVICE is /dev/videoN or a /dev/v4l/by-id/… or by-path/… name',
      collect,
      [] as string[],
    )
    .option('--simulate <n>', 'use N simulated cameras instead of V4L2 devices (the rig flags above shape them)', positiveInt('--simulate'))
    .addOption(
      new Option(
        '--policy <name>',
        "how this node groups its own frames for --record and --foxglove-port (default: the config's, else window with 1 ms tolerance for V4L2 cameras, which phase lock aligns, and approximate for simulated ones); free-running cameras pair up under approximate",
      ).choices([...POLICY_NAMES]),
    )
    .option('--duration-s <s>', 'stop after this many seconds (default: until Ctrl-C)', positiveNumber('--duration-s'))
    .option(
      '--thumbnails-per-s <n>',
      "thumbnails of each camera's latest frame sent to the server's dashboard per second (≤ 320 px JPEG, made off the JS thread, skipped while the link is backed up); 0 sends none",
      nonNegativeNumber('--thumbnails-per-s', 100),
      1,
    )
    .option(
      '--foxglove-port <port>',
      "serve this node's groups and images live to Foxglove, as `capture` does (WebSocket on 127.0.0.1; 0 picks a free port)",
      nonNegativeInt('--foxglove-port'),
    )
    .action(async (urlArg: string | undefined, flags: JoinFlags) => {
      const config = flags.config ? loadRigConfig(flags.config) : undefined;
      const url = urlArg ?? config?.server;
      if (!url) throw new ConfigError('give the server URL (ws://host:8888) as an argument or as server: in the rig config');
      if (!/^wss?:\/\/[^/]+/.test(url)) throw new ConfigError(`the server URL must look like ws://host:8888, got "${url}"`);
      const token =
        tokenFromSources({ value: flags.token, file: flags.tokenFile }, { flag: '--token', file: '--token-file' }) ??
        config?.token ??
        (config?.token_file ? readTokenFile(config.token_file, 'token_file') : undefined) ??
        process.env.SYNCAP_TOKEN;
      if (!token)
        throw new ConfigError(
          '--token is required (or --token-file, token: or token_file: in the rig config, or SYNCAP_TOKEN): the server refuses nodes without it',
        );
      const nodeId = config?.nodeId ?? flags.nodeId;
      if (!/^[A-Za-z0-9._:-]{1,64}$/.test(nodeId)) throw new ConfigError(`--node-id may hold letters, digits and . _ : - only (at most 64), got "${nodeId}"`);
      if (config && (flags.camera.length > 0 || flags.simulate))
        throw new ConfigError('--config gives the cameras: drop --camera/--simulate, or drop --config');
      const simulate = flags.simulate ?? (config?.cameras.every((c) => c.simulate) ? config.cameras.length : undefined);
      if (!simulate && flags.camera.length === 0 && !config)
        throw new ConfigError('give at least one --camera /dev/videoN (or --simulate N to try without hardware, or --config)');
      if (flags.simulate && flags.camera.length > 0) throw new ConfigError('--simulate and --camera exclude each other');
      if (flags.pixels && !simulate) throw new ConfigError('--pixels shapes simulated cameras: give it with --simulate');
      // The node's local groups (what it records and shows live); the server groups the rig on its own.
      const policy: PolicyConfig | undefined = flags.policy ? parsePolicyConfig({ name: flags.policy }, '--policy') : config?.policy;
      const thumbnails = flags.thumbnailsPerS > 0 ? { intervalMs: 1000 / flags.thumbnailsPerS } : undefined;
      flags.nodeId = nodeId;
      const cameraSpecs = flags.camera.map((c, i) => parseCameraSpec(c, `cam${i}`));
      // The server refuses a hello announcing more: the node would retry for ever.
      for (const c of cameraSpecs)
        if (c.options.fps !== undefined && !(c.options.fps > 0 && c.options.fps <= MAX_CAMERA_FPS))
          throw new ConfigError(`--camera ${c.path}: ${c.options.fps} fps is more than the server accepts (at most ${MAX_CAMERA_FPS})`);

      // Local recording: independent of the server link, so nothing is lost while it is away.
      const recordDir = flags.record ?? config?.recording?.dir;
      let recorder: Ros2Recorder | undefined;
      let stopping = false;
      // The Foxglove live view, if asked: it copies what it sends, so it goes before the recorder.
      let live: FoxgloveLiveServer | undefined;
      const startLive = async (cameras: readonly RecorderCamera[]) => {
        if (flags.foxglovePort !== undefined) live = await FoxgloveLiveServer.start({ port: flags.foxglovePort, cameras });
      };
      const recordGroup = (g: FrameGroup) => {
        live?.publishGroup(g);
        // The recorder takes the frames (and releases them once written); none once stopping.
        if (recorder && !stopping) recorder.recordGroup(g);
        else g.release();
      };
      const openRecorder = async (cameras: readonly RecorderCamera[]) => {
        if (!recordDir) return;
        const path = join(recordDir, `${nodeId}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
        recorder = await Ros2Recorder.create({
          dir: path,
          cameras,
          metadata: { nodeId, server: url, ...(flags.config ? { config: readFileSync(flags.config, 'utf8') } : {}) },
          onWriteError: (error) =>
            process.stderr.write(`${nodeId}: recording stopped: ${error instanceof Error ? error.message : String(error)}; capture goes on\n`),
        });
        process.stderr.write(`${nodeId}: recording to ${path}\n`);
      };

      let stop: () => Promise<void>;
      let describeState: () => string;
      let link: SyncClient;
      let phaseLock: () => { enabled: boolean; locked: number };
      let drops: () => Readonly<Record<string, number>>;
      let reportStatus: ReturnType<typeof setInterval> | undefined;
      let thumbnailStats: () => ThumbnailStats | undefined;
      let sampleClock: () => ClockSample;
      let policyInUse: PolicyConfig;
      if (simulate) {
        const rig = new RealtimeSimNodes({
          url,
          token,
          spec: rigSpec({ ...rigSpecFromFlags(flags as unknown as Record<string, unknown>, RIG_FLAGS), hosts: 1, cameras: simulate }),
          nodeId: flags.nodeId,
          onGroup: recordGroup,
          thumbnails,
          ...(policy ? { policy } : {}),
        });
        // The simulated cameras' own geometry and format (what their info gives once open).
        const simCameras = rig.hosts[0]!.cameras.map((c) => ({ id: c.id, ...c.format }));
        await openRecorder(simCameras);
        await startLive(simCameras);
        rig.start();
        const host = rig.hosts[0]!;
        policyInUse = host.node.policy;
        thumbnailStats = () => host.node.thumbnailStats();
        sampleClock = () => {
          const monotonicNs = host.monotonic.hostFromTrue(rig.scheduler.nowNs);
          return { monotonicNs, offsetNs: host.rig.hostFromTrue(rig.scheduler.nowNs) - monotonicNs, uncertaintyNs: 100 };
        };
        link = host.client;
        phaseLock = () => ({ enabled: flags.phaseLock, locked: flags.phaseLock ? host.node.lockedCameras.length : 0 });
        drops = () => Object.fromEntries(host.cameras.map((c) => [c.id, c.counts.drop]));
        // The simulated host reports PTP (and drops) itself; phase lock is the node's to say.
        reportStatus = setInterval(() => host.client.reportPhaseLock(phaseLock()), 1000);
        stop = () => rig.stop();
        describeState = () =>
          `${lockNote(phaseLock(), host.cameras.length)}, server ${host.client.stats().connected ? 'connected' : 'away'}, ${backlogNote(host.client)}`;
      } else {
        const native = await import('@syncap/native-v4l2');
        const specs = config ? config.cameras.map((c) => ({ path: c.device!, options: deviceOptionsOf(c) })) : cameraSpecs;
        const cameras = specs.map((s) => ({ device: new native.V4l2Camera(s.path, s.options), fps: s.options.fps ?? 30 }));
        const clock = { nowNs: () => native.monotonicNowNs() };
        const onListenerError = stderrErrorSink(nodeId);
        const client = new SyncClient({
          connect: wsConnector(url),
          nodeId: flags.nodeId,
          token,
          cameras: cameras.map((c) => ({ id: c.device.id, fps: c.fps })),
          clock: { nowNs: () => native.monotonicNowNs() + native.sampleClocks(4).realtimeOffsetNs },
          timers: hostTimers,
          random: hostRandom,
          session: randomSessionId(),
          onListenerError,
        });
        link = client;
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
          timers: hostTimers,
          onListenerError,
          client,
          phaseLock: flags.phaseLock ? { toleranceNs: flags.phaseToleranceNs } : false,
          ...(policy ? { policy } : {}),
          onGroup: recordGroup,
          ...(thumbnails ? { thumbnails: { ...thumbnails, thumbnailer: jpegThumbnailer() } } : {}),
        });
        policyInUse = node.policy;
        thumbnailStats = () => node.thumbnailStats();
        sampleClock = () => {
          const s = native.sampleClocks(16);
          return { monotonicNs: s.monotonicNs, offsetNs: s.realtimeOffsetNs, uncertaintyNs: s.realtimeUncertaintyNs };
        };
        // PTP as the config says: ptp4l (and phc2sys) supervised here, status reported to the server.
        let ptp: PtpSupervisor | undefined;
        if (config?.ptp) {
          ptp = new PtpSupervisor({
            role: config.ptp.role,
            interface: config.ptp.interface,
            timestamping: config.ptp.timestamping,
            transport: config.ptp.transport,
            phc2sys: config.ptp.role === 'slave' && config.ptp.timestamping === 'hardware',
            timers: hostTimers,
            onListenerError,
          });
          ptp.onEvent((e) => {
            if (e.type === 'error') process.stderr.write(`${nodeId}: ${e.error.message}\n`);
            if (e.type === 'state') process.stderr.write(`${nodeId}: PTP ${e.previous} → ${e.state}\n`);
          });
          ptp.start();
        }
        const ptpReport = setInterval(() => {
          const s = ptp?.stats();
          client.reportPtp(
            s ? { state: s.state, offsetNs: s.lastOffsetNs, rmsNs: s.rmsOffsetNs, freqPpb: s.freqPpb, pathDelayNs: s.pathDelayNs } : { state: 'absent' },
          );
          client.reportDrops(node.manager.stats().dropsByCamera);
          client.reportPhaseLock(phaseLock());
        }, 1000);
        phaseLock = () => ({ enabled: flags.phaseLock, locked: flags.phaseLock ? node.lockedCameras.length : 0 });
        drops = () => node.manager.stats().dropsByCamera;
        try {
          await node.start();
        } catch (error) {
          clearInterval(ptpReport);
          ptp?.stop();
          throw error;
        }
        const v4l2Cameras = cameras.map((c) => ({
          id: c.device.id,
          width: c.device.info?.width ?? 0,
          height: c.device.info?.height ?? 0,
          pixelFormat: c.device.info?.pixelFormat ?? '',
          buffers: c.device.info?.buffers,
        }));
        try {
          await openRecorder(v4l2Cameras);
          await startLive(v4l2Cameras);
        } catch (error) {
          clearInterval(ptpReport);
          await node.stop();
          ptp?.stop();
          await recorder?.close().catch(() => undefined);
          throw error;
        }
        stop = async () => {
          clearInterval(ptpReport);
          await node.stop();
          ptp?.stop();
        };
        describeState = () => `${lockNote(phaseLock(), cameras.length)}, server ${client.stats().connected ? 'connected' : 'away'}, ${backlogNote(client)}`;
      }
      const metrics =
        flags.metricsPort === undefined
          ? undefined
          : await new NodeMetrics({ nodeId, client: link, drops, phaseLock, thumbnails: thumbnailStats }).serve(flags.metricsHost, flags.metricsPort);
      if (metrics) process.stdout.write(`${JSON.stringify({ metrics: metrics.url })}\n`);
      // Why the link is down (a refused token, an unreachable server) — said once until it connects, not per retry.
      const said = new Set<string>();
      let connected = false;
      let lastFailure: SyncClientEvent | undefined;
      let failFast: (() => void) | undefined;
      link.onEvent((e) => {
        // Reports the backlog could not keep are counted in the node's status line and sent to the server.
        if (e.type === 'backlog-dropped') return;
        const note =
          e.type === 'connected'
            ? `connected to ${url}`
            : e.type === 'server-error'
              ? `the server refused this node: ${clip(e.message)}`
              : e.type === 'connect-failed'
                ? `cannot reach ${url} (${clip(e.error)}); still capturing, retrying`
                : `disconnected from ${url}${e.reason ? ` (${clip(e.reason)})` : ''}; still capturing, retrying`;
        if (e.type === 'connected') {
          connected = true;
          said.clear();
        } else if (!connected && (e.type === 'connect-failed' || e.type === 'server-error')) {
          lastFailure = e;
          if (flags.failFast) failFast?.();
        }
        if (!said.has(note)) process.stderr.write(`${nodeId}: ${note}\n`);
        said.add(note);
      });
      process.stdout.write(`${JSON.stringify({ joined: url, nodeId: flags.nodeId, policy: policyInUse.name, ...(live ? { foxglove: live.url } : {}) })}\n`);
      const status = setInterval(() => process.stderr.write(`${flags.nodeId}: ${describeState()}${thumbnailNote(thumbnailStats())}\n`), 2000);
      const clockSamples = live
        ? setInterval(() => {
            const sample = sampleClock();
            live?.publishClock(sample, sample.monotonicNs + sample.offsetNs);
          }, 1000)
        : undefined;
      let duration: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        failFast = resolve;
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
        if (flags.durationS !== undefined) duration = setTimeout(resolve, flags.durationS * 1000);
      });
      // Nothing may keep the process alive once it stops (a signal or --fail-fast before --duration-s).
      clearTimeout(duration);
      clearInterval(status);
      clearInterval(reportStatus);
      clearInterval(clockSamples);
      // The recorder holds zero-copy frames until they are on disk: let it finish before the
      // cameras stop and take their buffers back.
      stopping = true;
      await recorder?.whenWritten();
      await stop();
      await live?.close();
      await metrics?.close();
      const recorded = recorder ? await recorder.close() : undefined;
      if (recorded) process.stdout.write(`${JSON.stringify({ recorded })}\n`);
      // A node that never reached the server did not do its job: scripts must see that.
      if (!connected) throw neverConnected(url, lastFailure);
    });
}

/** Why the node never connected, as the error its exit code reports. */
function neverConnected(url: string, failure: SyncClientEvent | undefined): SyncapError {
  if (failure?.type === 'server-error') {
    const code = failure.code === String(CloseCodes.unauthorized) ? 'E_UNAUTHORIZED' : 'E_PROTOCOL';
    return new SyncapError(code, `never connected: the server at ${url} refused this node: ${clip(failure.message)}`);
  }
  const why = failure?.type === 'connect-failed' ? `: ${clip(failure.error)}` : '';
  return new SyncapError('E_UNREACHABLE', `never connected: cannot reach the server at ${url}${why}`);
}

/** Thumbnails for the status line: how many went, and how many slots were skipped (and why). */
function thumbnailNote(t: ThumbnailStats | undefined): string {
  if (!t) return '';
  const skipped = Object.entries({
    busy: t.skippedBusy,
    'backed up': t.skippedBackedUp,
    'server away': t.skippedOffline,
    'server takes none': t.skippedUnsupported,
    'too large': t.skippedTooLarge,
    failed: t.failed,
  })
    .filter(([, n]) => n > 0)
    .map(([why, n]) => `${n} ${why}`);
  return `, thumbnails ${t.sent} sent${skipped.length ? ` (skipped: ${skipped.join(', ')})` : ''}`;
}

/** Phase lock for the status line: off, or how many cameras are locked. */
function lockNote(lock: { enabled: boolean; locked: number }, cameras: number): string {
  return lock.enabled ? `${lock.locked}/${cameras} locked` : 'phase lock off';
}

/** The report backlog for the status line, and what overflowed it (reports the server will never get). */
function backlogNote(client: SyncClient): string {
  const { backlog, backlogDropped } = client.stats();
  return `backlog ${backlog}${backlogDropped > 0 ? ` (${backlogDropped} reports dropped: it was full)` : ''}`;
}
