import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type CameraDevice, ConfigError, POLICY_NAMES, type PolicyConfig, parsePolicyConfig, SyncCaptureManager, type Timers } from '@syncap/core';
import { collect, positiveInt, positiveNumber, RealtimePacer } from '@syncap/harness';
import { hostTimers, jsRealtimeSample, monotonicClock, stderrErrorSink } from '@syncap/host';
import { SeededRandom, SimCamera, SimScheduler, TraceRecorder } from '@syncap/sim';
import { Command, Option } from 'commander';
import { parseCameraSpec } from '../camera-spec.js';
import { McapRecorder } from '../mcap-recorder.js';
import { loadRigConfig } from '../rig-config.js';

interface CaptureFlags {
  config?: string;
  camera: string[];
  simulate?: number;
  policy?: string;
  duration?: number;
  frames?: number;
  record?: string;
  encode?: 'jpeg';
  trace?: string;
}

interface CameraSetup {
  readonly device: CameraDevice;
  readonly fps: number;
  readonly width: number;
  readonly height: number;
  readonly pixelFormat: string;
}

/** `syncap-node capture`: local synchronized capture with a live status line, recording and traces. */
export function captureCommand(): Command {
  return new Command('capture')
    .description('capture from local cameras in sync: groups, live stats, optional MCAP recording and timestamp trace')
    .option('--config <rig.yaml>', 'rig config (cameras, policy, recording); see examples/rig.yaml')
    .option('--camera <spec>', 'a V4L2 camera: /dev/videoN[:WxH@fps[:FOURCC]] (repeatable)', collect, [] as string[])
    .option('--simulate <n>', 'N simulated cameras instead of V4L2 devices (try it without hardware)', positiveInt('--simulate'))
    .addOption(new Option('--policy <name>', "grouping policy (default: the config's, else hybrid)").choices([...POLICY_NAMES]))
    .option('--duration <s>', 'stop after this many seconds', positiveNumber('--duration'))
    .option('--frames <n>', 'stop after this many groups', positiveInt('--frames'))
    .option('--record <dir>', 'record frames, groups and clock samples to an MCAP file in this directory')
    .addOption(new Option('--encode <format>', 'record compressed images (foxglove.CompressedImage) instead of raw ones').choices(['jpeg']))
    .option('--trace <file>', 'write a timestamp trace (JSON Lines, replayable with `syncap-node replay`)')
    .addHelpText(
      'after',
      '\nExamples:\n  syncap-node capture --camera /dev/video0:640x360@30:YUYV --camera /dev/video2:640x360@30:YUYV --frames 300 --record rec\n  syncap-node capture --simulate 4 --duration 10 --trace rig.jsonl',
    )
    .action(async (flags: CaptureFlags) => {
      const config = flags.config ? loadRigConfig(flags.config) : undefined;
      const sources = [flags.config ? 1 : 0, flags.camera.length > 0 ? 1 : 0, flags.simulate ? 1 : 0].reduce((a, b) => a + b, 0);
      if (sources !== 1) throw new ConfigError('give exactly one of --config <rig.yaml>, --camera <spec> …, or --simulate <n>');
      const policy: PolicyConfig = flags.policy ? parsePolicyConfig({ name: flags.policy }, '--policy') : (config?.policy ?? { name: 'hybrid' });

      let pacer: RealtimePacer | undefined;
      // The clock channel: on one host the rig timebase is CLOCK_MONOTONIC; REALTIME is sampled next to it.
      let sampleClock: () => { monotonicNs: bigint; offsetNs: bigint; uncertaintyNs: number } = jsRealtimeSample;
      let clock = monotonicClock;
      let timers: Timers = hostTimers;
      let cameras: CameraSetup[];
      const simulated = flags.simulate ?? (config?.cameras.every((c) => c.simulate) ? config.cameras.length : undefined);
      if (simulated) {
        // Simulated cameras on virtual time paced to the wall clock.
        const scheduler = new SimScheduler(process.hrtime.bigint());
        const random = new SeededRandom(1);
        pacer = new RealtimePacer(scheduler);
        clock = scheduler.clock;
        timers = scheduler.timers;
        cameras = Array.from({ length: simulated }, (_, i) => {
          const c = config?.cameras[i];
          const id = c?.id ?? `cam${i}`;
          const fps = c?.fps ?? 30;
          const [width, height] = [c?.width ?? 64, c?.height ?? 48];
          return {
            device: new SimCamera(scheduler, random.fork(id), { id, fps, width, height, payloadBytes: width * height, jitterNs: 50_000 }),
            fps,
            width,
            height,
            pixelFormat: 'SIM',
          };
        });
      } else {
        if (config?.cameras.some((c) => c.simulate)) throw new ConfigError(`${flags.config}: cameras mix simulate: true with devices; use one kind`);
        const native = await import('@syncap/native-v4l2');
        const specs = config
          ? config.cameras.map((c) => ({
              path: c.device!,
              options: { id: c.id, width: c.width, height: c.height, fps: c.fps, pixelFormat: c.format, buffers: c.buffers },
            }))
          : flags.camera.map((c, i) => parseCameraSpec(c, `cam${i}`));
        cameras = specs.map((s) => {
          const device = new native.V4l2Camera(s.path, { ...s.options, buffers: s.options.buffers ?? 8, mode: flags.record ? 'copy' : 'zero-copy' });
          return { device, fps: s.options.fps ?? 30, width: 0, height: 0, pixelFormat: '' };
        });
        clock = { nowNs: () => native.monotonicNowNs() };
        sampleClock = () => {
          const s = native.sampleClocks(16);
          return { monotonicNs: s.monotonicNs, offsetNs: s.realtimeOffsetNs, uncertaintyNs: s.realtimeUncertaintyNs };
        };
      }

      const manager = new SyncCaptureManager({ policy, clock, timers, onListenerError: stderrErrorSink('syncap-node capture') });
      for (const c of cameras) manager.addCamera(c.device, { fps: c.fps });
      let trace: TraceRecorder | undefined;
      let traceStream: ReturnType<typeof createWriteStream> | undefined;
      if (flags.trace) {
        traceStream = createWriteStream(flags.trace);
        trace = new TraceRecorder(
          cameras.map((c) => ({ id: c.device.id, fps: c.fps })),
          (line) => traceStream!.write(`${line}\n`),
        );
        for (const c of cameras) trace.attach(c.device);
      }
      pacer?.start();
      const { atNs } = await manager.start();
      let recorder: McapRecorder | undefined;
      let recordPath: string | undefined;
      const recordDir = flags.record ?? config?.recording?.dir;
      if (recordDir) {
        mkdirSync(recordDir, { recursive: true });
        recordPath = join(recordDir, `capture-${new Date().toISOString().replace(/[:.]/g, '-')}.mcap`);
        recorder = await McapRecorder.create(recordPath, {
          cameras: cameras.map((c) => ({
            id: c.device.id,
            width: c.device.info?.width ?? c.width,
            height: c.device.info?.height ?? c.height,
            pixelFormat: c.device.info?.pixelFormat ?? c.pixelFormat,
          })),
          // Small chunks: a recording killed mid-way loses at most the last ~256 KiB.
          chunkSize: 256 * 1024,
          encode: flags.encode,
          metadata: {
            policy: JSON.stringify(policy),
            cameras: JSON.stringify(cameras.map((c) => ({ id: c.device.id, ...c.device.info }))),
            ...(flags.config ? { config: flags.config } : {}),
          },
        });
        process.stderr.write(`recording to ${recordPath}\n`);
      }
      process.stdout.write(
        `${JSON.stringify({ capturing: cameras.map((c) => c.device.id), policy: policy.name, startedAtNs: atNs.toString(), ...(recordPath ? { recording: recordPath } : {}) })}\n`,
      );

      const tty = process.stdout.isTTY === true;
      let stopping = false;
      const stopSignal = new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
        if (flags.duration !== undefined) setTimeout(resolve, flags.duration * 1000);
      }).then(() => {
        stopping = true;
      });
      const status = setInterval(() => {
        recorder?.recordClock(sampleClock(), clock.nowNs());
        const s = manager.stats();
        const us = (ns: number) => `${(ns / 1000).toFixed(0)}µs`;
        const line = tty
          ? `groups ${s.groups} (${s.groupsPerSec}/s) span p50 ${us(s.spanNs.p50)} p99 ${us(s.spanNs.p99)} | drops ${Object.entries(s.dropsByCamera)
              .map(([c, n]) => `${c}:${n}`)
              .join(' ')}${recorder ? ` | rec dropped ${Object.values(recorder.stats().droppedByCamera).reduce((a, b) => a + b, 0)}` : ''}`
          : JSON.stringify({ stats: s });
        process.stdout.write(tty ? `\r\x1b[2K${line}` : `${line}\n`);
      }, 1000);

      let taken = 0;
      void stopSignal.then(() => manager.stop());
      for await (const group of manager) {
        recorder?.recordGroup(group);
        group.release();
        taken++;
        if (flags.frames !== undefined && taken >= flags.frames && !stopping) {
          stopping = true;
          void manager.stop();
        }
      }
      clearInterval(status);
      pacer?.stop();
      trace?.detach();
      await new Promise<void>((r) => (traceStream ? traceStream.end(() => r()) : r()));
      const recorded = recorder ? await recorder.close() : undefined;
      const s = manager.stats();
      process.stdout.write(
        `${tty ? '\n' : ''}${JSON.stringify({ final: true, groups: taken, stats: s, ...(recorded ? { recording: { path: recordPath, ...recorded } } : {}) })}\n`,
      );
    });
}
