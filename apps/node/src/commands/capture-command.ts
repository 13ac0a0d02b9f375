import { closeSync, createWriteStream, openSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, type FrameGroup, POLICY_NAMES, type PolicyConfig, parsePolicyConfig, SyncapError, SyncCaptureManager } from '@syncap/core';
import { collect, nonNegativeInt, positiveInt, positiveNumber } from '@syncap/harness';
import { stderrErrorSink } from '@syncap/host';
import { checkRecordingDirectory, FoxgloveLiveServer, type RecorderStats, Ros2Recorder } from '@syncap/record';
import { TraceRecorder } from '@syncap/sim';
import { Command, Option } from 'commander';
import { buildLocalRig, type LocalRig, localCameraSpecs } from '../local-rig.js';
import { loadRigConfig, type RigConfig } from '../rig-config.js';

interface CaptureFlags {
  config?: string;
  camera: string[];
  simulate?: number;
  policy?: string;
  duration?: number;
  frames?: number;
  record?: string;
  encode?: 'jpeg';
  splitSize?: number;
  splitDuration?: number;
  trace?: string;
  foxglovePort?: number;
}

/** `syncap-node capture`: local synchronized capture with a live status line, ROS 2 recording and traces. */
export function captureCommand(): Command {
  return new Command('capture')
    .description('capture from local cameras in sync: groups, live stats, optional ROS 2 bag recording and timestamp trace')
    .option('--config <rig.yaml>', 'rig config (cameras, policy, recording); see examples/rig.yaml')
    .option(
      '--camera <spec>',
      'a camera (repeatable): DEVICE[:WxH[@fps][:FOURCC]] where DEVICE is /dev/videoN or a /dev/v4l/by-id/… or by-path/… name, or sim:WxH@fps[:YUYV|GREY|MJPG] (simulated, real pixels)',
      collect,
      [] as string[],
    )
    .option('--simulate <n>', 'N simulated cameras with timing only (no pixels of interest)', positiveInt('--simulate'))
    .addOption(new Option('--policy <name>', "grouping policy (default: the config's, else hybrid)").choices([...POLICY_NAMES]))
    .option('--duration <s>', 'stop after this many seconds', positiveNumber('--duration'))
    .option('--frames <n>', 'stop after this many groups', positiveInt('--frames'))
    .option('--record <dir>', 'record a ROS 2 bag (MCAP + metadata.yaml) into a new directory capture-<time> under <dir>')
    .addOption(new Option('--encode <format>', 'record raw cameras as JPEG (CompressedImage); MJPG is recorded as it comes').choices(['jpeg']))
    .option('--split-size <MiB>', 'start a new bag file when the current one reaches this size', positiveNumber('--split-size'))
    .option('--split-duration <s>', 'start a new bag file every this many seconds of recording', positiveNumber('--split-duration'))
    .option('--trace <file>', 'write a timestamp trace (JSON Lines, replayable with `syncap-node replay`)')
    .option(
      '--foxglove-port <port>',
      'serve the recording topics live to Foxglove (WebSocket on 127.0.0.1; 0 picks a free port)',
      nonNegativeInt('--foxglove-port'),
    )
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  syncap-node capture --camera /dev/video0:1280x720@30:MJPG --camera /dev/video2:1280x720@30:MJPG --duration 60 --record rec',
        '  syncap-node capture --camera sim:1280x720@30:YUYV --camera sim:1280x720@30:YUYV --frames 300 --record rec --encode jpeg',
        '  syncap-node capture --config examples/rig.yaml --duration 10 --trace rig.jsonl',
        '',
        'Recordings are ROS 2 bags (ros2 bag info/play take the directory; Foxglove opens the .mcap): a topic per',
        'camera (/<camera>/image_raw; /<camera>/image_raw/compressed for MJPG and JPEG; /<camera>/image_raw/foxglove,',
        'foxglove_msgs/CompressedVideo, for H264), /syncap/frame_groups and',
        '/syncap/clock_samples, stamped in realtime. A disk that cannot keep up drops frames (counted per camera);',
        'capture never waits. `syncap-node record info <dir>` summarizes one.',
      ].join('\n'),
    )
    .action((flags: CaptureFlags) => capture(flags));
}

async function capture(flags: CaptureFlags): Promise<void> {
  const config = flags.config ? loadRigConfig(flags.config) : undefined;
  const sources = [flags.config ? 1 : 0, flags.camera.length > 0 ? 1 : 0, flags.simulate ? 1 : 0].reduce((a, b) => a + b, 0);
  if (sources !== 1) throw new ConfigError('give exactly one of --config <rig.yaml>, --camera <spec> …, or --simulate <n>');
  const policy: PolicyConfig = flags.policy ? parsePolicyConfig({ name: flags.policy }, '--policy') : (config?.policy ?? { name: 'hybrid' });
  const specs = localCameraSpecs({ camera: flags.camera, simulate: flags.simulate, config, configPath: flags.config });
  const recordRoot = flags.record ?? config?.recording?.dir;
  // Outputs are checked before any camera starts: a bad path fails at once, naming it.
  const recordDir = recordRoot ? join(recordRoot, `capture-${new Date().toISOString().replace(/[:.]/g, '-')}`) : undefined;
  if (recordDir) await checkRecordingDirectory(recordDir);
  const traceFd = flags.trace ? openOutput(flags.trace, '--trace') : undefined;

  const rig = await buildLocalRig(specs, { recordingPixels: recordDir !== undefined });
  const manager = new SyncCaptureManager({
    policy,
    clock: rig.clock,
    timers: rig.timers,
    timebase: rig.timebase,
    onListenerError: stderrErrorSink('syncap-node capture'),
  });
  for (const c of rig.cameras) manager.addCamera(c.device, { fps: c.fps });
  const trace = traceFd === undefined ? undefined : startTrace(traceFd, rig);

  rig.start();
  let recorder: Ros2Recorder | undefined;
  let live: FoxgloveLiveServer | undefined;
  try {
    const { atNs } = await manager.start();
    if (recordDir) recorder = await startRecorder(recordDir, rig, policy, config, flags);
    if (flags.foxglovePort !== undefined) live = await FoxgloveLiveServer.start({ port: flags.foxglovePort, cameras: recorderCameras(rig) });
    process.stdout.write(
      `${JSON.stringify({
        capturing: rig.cameras.map((c) => c.device.id),
        policy: policy.name,
        startedAtNs: atNs.toString(),
        ...(recordDir ? { recording: recordDir } : {}),
        ...(live ? { foxglove: live.url } : {}),
      })}\n`,
    );
  } catch (error) {
    // Nothing may keep the process alive after a failed start: stop what did start, then report.
    await manager.stop().catch(() => undefined);
    rig.stop();
    await trace?.close();
    await recorder?.close().catch(() => undefined);
    await live?.close();
    throw error;
  }

  const taken = await consume(manager, rig, { recorder, live }, flags);
  rig.stop();
  await trace?.close();
  await live?.close();
  const recorded = recorder ? await recorder.close() : undefined;
  const tty = process.stdout.isTTY === true;
  process.stdout.write(
    `${tty ? '\n' : ''}${JSON.stringify({ final: true, groups: taken, stats: manager.stats(), ...(recorded ? { recording: { dir: recordDir, ...recorded } } : {}) })}\n`,
  );
}

/** Takes groups until a stop condition, with a live status line; the recorder takes each group's frames. */
async function consume(
  manager: SyncCaptureManager,
  rig: LocalRig,
  { recorder, live }: { recorder: Ros2Recorder | undefined; live: FoxgloveLiveServer | undefined },
  flags: CaptureFlags,
): Promise<number> {
  const tty = process.stdout.isTTY === true;
  let stopping = false;
  let durationTimer: NodeJS.Timeout | undefined;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    clearTimeout(durationTimer);
    // The recorder holds zero-copy frames until they are on disk: let it finish before the
    // cameras stop and take their buffers back (groups arriving meanwhile are released).
    void (recorder?.whenWritten() ?? Promise.resolve()).finally(() => manager.stop());
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  if (flags.duration !== undefined) durationTimer = setTimeout(stop, flags.duration * 1000);
  const status = setInterval(() => {
    const sample = rig.sampleClock();
    const now = rig.clock.nowNs();
    recorder?.recordClock(sample, now);
    live?.publishClock(sample, now);
    const s = manager.stats();
    if (!tty) {
      process.stdout.write(`${JSON.stringify({ stats: s, ...(recorder ? { recording: recorder.stats() } : {}) })}\n`);
      return;
    }
    const us = (ns: number) => `${(ns / 1000).toFixed(0)}µs`;
    const drops = Object.entries(s.dropsByCamera)
      .map(([c, n]) => `${c}:${n}`)
      .join(' ');
    process.stdout.write(
      `\r\x1b[2Kgroups ${s.groups} (${s.groupsPerSec}/s) span p50 ${us(s.spanNs.p50)} p99 ${us(s.spanNs.p99)} | drops ${drops}${recorder ? ` | ${recordingNote(recorder.stats())}` : ''}`,
    );
  }, 1000);
  let taken = 0;
  try {
    for await (const group of manager) {
      // Live first: it copies what it sends; the recorder then takes the frames.
      if (stopping) {
        group.release();
        continue;
      }
      live?.publishGroup(group);
      take(group, recorder);
      taken++;
      if (flags.frames !== undefined && taken >= flags.frames) stop();
    }
  } finally {
    clearInterval(status);
    clearTimeout(durationTimer);
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  return taken;
}

function take(group: FrameGroup, recorder: Ros2Recorder | undefined): void {
  if (recorder) recorder.recordGroup(group);
  else group.release();
}

function recordingNote(r: RecorderStats): string {
  const lost = Object.values(r.notRecorded).reduce((n, byReason) => n + Object.values(byReason).reduce((a, b) => a + (b ?? 0), 0), 0);
  return `rec ${r.framesWritten} frames, ${(r.bytesWritten / 2 ** 20).toFixed(0)} MiB${lost > 0 ? `, ${lost} not recorded` : ''}${r.writeError ? ', WRITE FAILED' : ''}`;
}

/** The cameras as recordings and the live view describe them (after open: what the devices gave). */
function recorderCameras(rig: LocalRig) {
  return rig.cameras.map(({ device }) => ({
    id: device.id,
    width: device.info?.width ?? 0,
    height: device.info?.height ?? 0,
    pixelFormat: device.info?.pixelFormat ?? '',
    buffers: device.info?.buffers,
  }));
}

async function startRecorder(dir: string, rig: LocalRig, policy: PolicyConfig, config: RigConfig | undefined, flags: CaptureFlags): Promise<Ros2Recorder> {
  let reported = false;
  const recorder = await Ros2Recorder.create({
    dir,
    cameras: recorderCameras(rig),
    encode: flags.encode,
    splitSizeBytes: flags.splitSize !== undefined ? flags.splitSize * 2 ** 20 : undefined,
    splitDurationNs: flags.splitDuration !== undefined ? flags.splitDuration * 1e9 : undefined,
    metadata: {
      policy: JSON.stringify(policy),
      cameras: JSON.stringify(rig.cameras.map((c) => ({ id: c.device.id, ...c.device.info }))),
      ...(config ? { config: JSON.stringify(config) } : {}),
    },
    onWriteError: (error) => {
      if (reported) return;
      reported = true;
      process.stderr.write(
        `\nsyncap-node capture: recording stopped: ${(error as SyncapError).message}. Capture goes on; frames not recorded are counted per camera, and what was written stays readable.\n`,
      );
    },
  });
  process.stderr.write(`recording to ${dir}\n`);
  return recorder;
}

/** Opens an output file before capture starts, so a bad path fails at once with its reason. */
function openOutput(path: string, flag: string): number {
  try {
    return openSync(path, 'wx');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'its directory does not exist' : code === 'EEXIST' ? 'the file exists (it is never overwritten)' : (error as Error).message;
    throw new SyncapError(code === 'EEXIST' ? 'E_EXISTS' : 'E_IO', `${flag} ${path}: ${why}`);
  }
}

function startTrace(fd: number, rig: LocalRig): { close(): Promise<void> } {
  const stream = createWriteStream('', { fd, autoClose: false });
  let failed: Error | undefined;
  stream.on('error', (error) => {
    failed ??= error;
    process.stderr.write(`syncap-node capture: writing the trace failed: ${error.message}; capture goes on\n`);
  });
  const trace = new TraceRecorder(
    rig.cameras.map((c) => ({ id: c.device.id, fps: c.fps })),
    (line) => {
      if (!failed) stream.write(`${line}\n`);
    },
  );
  for (const c of rig.cameras) trace.attach(c.device);
  return {
    close: async () => {
      trace.detach();
      await new Promise<void>((resolve) => stream.end(() => resolve()));
      closeSync(fd);
    },
  };
}
