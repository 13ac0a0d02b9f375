import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FoxgloveClient } from '@foxglove/ws-protocol';
import { isH264Keyframe } from '@syncap/core';
import { decodeJpeg } from '@syncap/jpeg';
import { expect, it } from 'vitest';
import { runNodeCli } from '../support/cli.js';
import { type LiveImage, watchImages } from '../support/foxglove-images.js';
import { concatBytes, decodeH264 } from '../support/h264-stream.js';
import { NODE_BIN, SERVER_BIN, type Started, startProcess, stop, waitFor } from '../support/processes.js';
import { bagFiles, onlyBag, readBagFile, stampNs } from '../support/ros2-bag.js';
import { LOOPBACK_PATHS, startLoopbackFeeder, vividPaths } from './vivid-env.js';

/** A CLI's start-up (loading its modules) under the VM's TCG takes tens of seconds. */
const CLI_START_MS = 90_000;

/**
 * The pixel path on real devices: MJPG and H264 from v4l2loopback nodes (fed by ffmpeg) and YUYV from
 * vivid, recorded by `capture --record` and shown live by `join` (dashboard thumbnails on the
 * server, images in Foxglove). Every JPEG read back is decoded by libjpeg-turbo, every H264 stream by ffmpeg.
 */
export function describePixelPath(): void {
  it('capture --record from the MJPG loopback device: CompressedImage frames as the camera sent them, each a JPEG that decodes to 320x240', async () => {
    const device = LOOPBACK_PATHS[1];
    const feeder = await startLoopbackFeeder(device);
    try {
      const rec = mkdtempSync(join(tmpdir(), 'syncap-vivid-mjpg-'));
      const r = await runNodeCli(['capture', '--camera', `${device}:320x240:mjpg`, '--frames', '40', '--record', rec], { timeoutMs: 120_000 });
      expect(r.stderr).not.toMatch(/error/i);
      expect(r.code).toBe(0);
      const bag = onlyBag(rec);
      expect(existsSync(join(bag, 'metadata.yaml'))).toBe(true);
      const { profile, messages } = await readBagFile(bagFiles(bag)[0]!);
      expect(profile).toBe('ros2');
      const images = messages.filter((m) => m.topic.endsWith('/image_raw/compressed'));
      expect(messages.some((m) => m.topic.endsWith('/image_raw'))).toBe(false);
      const decoded: Uint8Array[] = [];
      for (const m of images) {
        expect(m.type).toBe('sensor_msgs/msg/CompressedImage');
        expect(m.value.format).toBe('jpeg');
        const image = await decodeJpeg(m.value.data!);
        expect({ width: image.width, height: image.height }).toEqual({ width: 320, height: 240 });
        decoded.push(image.pixels);
      }
      expect(images.length).toBeGreaterThanOrEqual(40);
      // A live source, not one image repeated: ffmpeg's testsrc moves from frame to frame.
      expect(decoded.some((p, i) => i > 0 && !samePixels(p, decoded[i - 1]!))).toBe(true);
      for (let i = 1; i < images.length; i++) expect(stampNs(images[i]!.value.header!.stamp) > stampNs(images[i - 1]!.value.header!.stamp)).toBe(true);
      // Recorded as they came: no re-encode, so every message is one of the camera's own frames.
      const final = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { recording: { framesWritten: number; framesTakenBack: number } };
      expect(final.recording).toMatchObject({ framesWritten: images.length, framesTakenBack: 0 });
      const info = JSON.parse((await runNodeCli(['record', 'info', bag, '--json'])).stdout) as { framesByCamera: Record<string, number> };
      expect(Object.values(info.framesByCamera)).toEqual([images.length]);
    } finally {
      feeder.kill('SIGKILL');
    }
  }, 240_000);

  it('capture --record from the H264 loopback device: CompressedVideo, each message one access unit as the camera sent it; from the first keyframe the recording decodes (ffmpeg) to one 320x240 picture per message', async () => {
    const device = LOOPBACK_PATHS[3];
    const feeder = await startLoopbackFeeder(device, 'H264');
    try {
      const devices = JSON.parse((await runNodeCli(['devices', '--json'])).stdout) as Array<{
        path: string;
        formats?: Array<{ pixelFormat: string; compressed: boolean }>;
      }>;
      expect(devices.find((d) => d.path === device)?.formats).toContainEqual(expect.objectContaining({ pixelFormat: 'H264', compressed: true }));
      const rec = mkdtempSync(join(tmpdir(), 'syncap-vivid-h264-'));
      const r = await runNodeCli(['capture', '--camera', `${device}:320x240:h264`, '--frames', '40', '--record', rec], { timeoutMs: 120_000 });
      expect(r.stderr).not.toMatch(/error/i);
      expect(r.code).toBe(0);
      const { messages } = await readBagFile(bagFiles(onlyBag(rec))[0]!);
      const video = messages.filter((m) => m.topic.endsWith('/image_raw/foxglove'));
      expect(messages.some((m) => /\/image_raw(\/compressed)?$/.test(m.topic))).toBe(false);
      expect(video.length).toBeGreaterThanOrEqual(40);
      for (const m of video) {
        expect(m.type).toBe('foxglove_msgs/msg/CompressedVideo');
        expect(m.value.format).toBe('h264');
        // Annex B as x264 wrote it: an access unit delimiter first.
        expect([...m.value.data!.subarray(0, 5)]).toEqual([0, 0, 0, 1, 0x09]);
      }
      const stamps = video.map((m) => stampNs(m.value.timestamp as { sec: number; nanosec: number }));
      for (let i = 1; i < stamps.length; i++) expect(stamps[i]! > stamps[i - 1]!).toBe(true);
      // The feeder's keyframes come every 10 frames; the capture began wherever the stream was (and
      // a loaded VM can miss a frame the writer overwrote, a keyframe among them: a CI run found
      // its first at 12).
      const first = video.findIndex((m) => isH264Keyframe(m.value.data!));
      expect(first).toBeGreaterThanOrEqual(0);
      expect(first).toBeLessThan(25);
      const pictures = decodeH264(concatBytes(video.slice(first).map((m) => m.value.data!)));
      expect(pictures).toHaveLength(video.length - first);
      expect(pictures.every((p) => p.bytes === (320 * 240 * 3) / 2)).toBe(true);
      // A live source, not one picture repeated.
      expect(new Set(pictures.map((p) => p.md5)).size).toBeGreaterThan(pictures.length / 2);
      const final = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { recording: { framesWritten: number; framesTakenBack: number } };
      expect(final.recording).toMatchObject({ framesWritten: video.length, framesTakenBack: 0 });
    } finally {
      feeder.kill('SIGKILL');
    }
  }, 240_000);

  it('join with a vivid YUYV camera and the MJPG loopback device: thumbnails of both reach the dashboard, and Foxglove gets both live', async () => {
    const mjpg = LOOPBACK_PATHS[2];
    const [yuyv] = vividPaths();
    const feeder = await startLoopbackFeeder(mjpg);
    const rig: Rig = {};
    let client: FoxgloveClient | undefined;
    try {
      const { port, url, node } = await startRig(rig, 'rig', [
        '--camera',
        `${yuyv}:320x180@30:YUYV`,
        '--camera',
        `${mjpg}:320x240:MJPG`,
        // The loopback device's frames come when ffmpeg writes them: it has no phase to lock, so its
        // frames meet vivid's within the default 1 ms window only by chance (a CI run saw one group in
        // 60 s). Approximate pairs each with vivid's nearest; the live view shows grouped frames.
        '--policy',
        'approximate',
      ]);
      const live = new Map<string, LiveImage[]>();
      client = watchImages(
        url,
        (topic) => /\/image_raw(\/compressed)?$/.test(topic),
        (topic, image) => {
          const list = live.get(topic) ?? [];
          live.set(topic, list);
          list.push(image);
        },
      ).client;
      // The cameras open and start after the Foxglove server is up: slow under TCG.
      await waitFor(() => ([...live.values()].filter((l) => l.length >= 3).length >= 2 ? true : undefined), 60_000, 'three live images of each camera').catch(
        async (error: Error) => {
          const counts = [...live].map(([t, l]) => `${t} ${l.length}`).join(', ') || 'none';
          // What the server saw of each camera (rate, drops) tells which one stalled the groups.
          const cameras = JSON.stringify(((await (await fetch(`http://127.0.0.1:${port}/api/status`)).json()) as { nodes?: unknown }).nodes ?? null).slice(
            0,
            1500,
          );
          throw new Error(`${error.message} (images so far: ${counts}; node stderr: ${node.stderr.slice(-5).join(' | ') || '(empty)'}; server: ${cameras})`);
        },
      );
      const raw = [...live].find(([t]) => t.endsWith('/image_raw'))![1];
      const compressed = [...live].find(([t]) => t.endsWith('/image_raw/compressed'))![1];
      expect(raw[0]).toMatchObject({ width: 320, height: 180, encoding: 'yuv422_yuy2' });
      // The frame's bytes as the driver filled them (vivid's bytesused can exceed step × height).
      expect(raw[0]).toMatchObject({ step: 640 });
      expect(raw[0]!.data.byteLength).toBeGreaterThanOrEqual(320 * 180 * 2);
      expect(compressed[0]).toMatchObject({ format: 'jpeg' });
      expect(await decodeJpeg(compressed.at(-1)!.data)).toMatchObject({ width: 320, height: 240 });

      // The dashboard's thumbnails: one per camera, each a JPEG that decodes, and a newer one later.
      const thumbnails = async () =>
        (
          (await (await fetch(`http://127.0.0.1:${port}/api/status`)).json()) as {
            thumbnails: Record<string, { width: number; height: number; version: number }>;
          }
        ).thumbnails;
      const first = await waitFor(
        async () => {
          const t = await thumbnails();
          return Object.keys(t).filter((k) => k.startsWith('rig/')).length === 2 ? t : undefined;
        },
        30_000,
        'thumbnails of both cameras on the server',
      );
      for (const [key, meta] of Object.entries(first)) {
        const jpeg = new Uint8Array(await (await fetch(`http://127.0.0.1:${port}/api/thumbnails/${key}.jpg`)).arrayBuffer());
        const image = await decodeJpeg(jpeg);
        expect({ key, width: image.width, height: image.height }).toEqual({ key, width: meta.width, height: meta.height });
        expect(image.width).toBeLessThanOrEqual(320);
      }
      await waitFor(
        async () => {
          const t = await thumbnails();
          return Object.entries(first).every(([k, m]) => (t[k]?.version ?? 0) > m.version) ? true : undefined;
        },
        30_000,
        'newer thumbnails of both cameras',
      );
    } finally {
      client?.close();
      feeder.kill('SIGKILL');
      await stopRig(rig);
    }
  }, 240_000);

  it('join with the H264 loopback device: thumbnails of its keyframes reach the dashboard, and Foxglove gets CompressedVideo from a keyframe on', async () => {
    const device = LOOPBACK_PATHS[4];
    const feeder = await startLoopbackFeeder(device, 'H264');
    const rig: Rig = {};
    let client: FoxgloveClient | undefined;
    try {
      const { port, url, node } = await startRig(rig, 'h264', ['--camera', `${device}:320x240:H264`]);
      const video: LiveImage[] = [];
      client = watchImages(
        url,
        (topic) => topic.endsWith('/image_raw/foxglove'),
        (_topic, image) => video.push(image),
      ).client;
      await waitFor(() => (video.length >= 12 ? true : undefined), 60_000, 'twelve live video frames').catch((error: Error) => {
        throw new Error(`${error.message} (${video.length} so far; node stderr: ${node.stderr.slice(-20).join(' | ') || '(empty)'})`);
      });
      // From a keyframe on, every frame: the first alone decodes, and all of them in sequence.
      expect(video.every((v) => v.format === 'h264')).toBe(true);
      expect(isH264Keyframe(video[0]!.data)).toBe(true);
      expect(decodeH264(video[0]!.data)).toEqual([expect.objectContaining({ bytes: (320 * 240 * 3) / 2 })]);
      // The frames after it decode in sequence (320x240 pictures). Not one per frame here: a VM
      // run decoded 10 pictures from 12 live frames, which is not explained yet (see the note of
      // 2026-12-06); the recorded stream's test holds that count.
      const pictures = decodeH264(concatBytes(video.slice(0, 12).map((v) => v.data)));
      expect(pictures.length).toBeGreaterThan(1);
      expect(pictures.every((p) => p.bytes === (320 * 240 * 3) / 2)).toBe(true);

      // The dashboard's thumbnail: a JPEG of a keyframe (libavcodec on the node), newer ones later.
      const thumbnail = async () =>
        (
          (await (await fetch(`http://127.0.0.1:${port}/api/status`)).json()) as {
            thumbnails: Record<string, { width: number; height: number; version: number }>;
          }
        ).thumbnails['h264/cam0'];
      const first = await waitFor(thumbnail, 30_000, 'a thumbnail of the H264 camera on the server');
      const jpeg = new Uint8Array(await (await fetch(`http://127.0.0.1:${port}/api/thumbnails/h264/cam0.jpg`)).arrayBuffer());
      expect(await decodeJpeg(jpeg)).toMatchObject({ width: 320, height: 240 });
      expect(first).toMatchObject({ width: 320, height: 240 });
      await waitFor(async () => ((await thumbnail())!.version > first.version ? true : undefined), 30_000, 'a newer thumbnail of the H264 camera');
    } finally {
      client?.close();
      feeder.kill('SIGKILL');
      await stopRig(rig);
    }
  }, 240_000);
}

/** A sync server and a `join` node on it, as far as they got. */
interface Rig {
  server?: Started;
  node?: Started;
}

/**
 * Starts a sync server and a `join` node on it with `cameraArgs` (cameras, policy), phase lock
 * off, 4 thumbnails per second and camera, its Foxglove view on a free port, for 60 s at most;
 * `rig` holds what started, for stopRig.
 */
async function startRig(rig: Rig, nodeId: string, cameraArgs: readonly string[]): Promise<{ port: string; url: string; node: Started }> {
  rig.server = startProcess(SERVER_BIN, ['--port', '0', '--token', 'vivid-token']);
  const port = await printed(rig.server, /"port":(\d+)/, 'the server to listen');
  const args = ['--no-phase-lock', '--thumbnails-per-s', '4', '--foxglove-port', '0', '--duration-s', '60'];
  rig.node = startProcess(NODE_BIN, ['join', `ws://127.0.0.1:${port}`, '--token', 'vivid-token', '--node-id', nodeId, ...cameraArgs, ...args]);
  const url = await printed(rig.node, /"foxglove":"([^"]+)"/, 'the Foxglove URL');
  return { port, url, node: rig.node };
}

/** Stops the node (which must exit cleanly) and the server. */
async function stopRig(rig: Rig): Promise<void> {
  if (rig.node) expect(await stop(rig.node)).toBe(0);
  if (rig.server) await stop(rig.server);
}

/** The first match of `pattern`'s group in the process's stdout; a failure quotes its stderr. */
async function printed(p: Started, pattern: RegExp, what: string): Promise<string> {
  try {
    return await waitFor(() => p.stdout.map((l) => pattern.exec(l)?.[1]).find(Boolean), CLI_START_MS, what);
  } catch (error) {
    throw new Error(`${(error as Error).message}; its stderr: ${p.stderr.slice(-10).join(' | ') || '(empty)'}`);
  }
}

function samePixels(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((v, i) => v === b[i]);
}
