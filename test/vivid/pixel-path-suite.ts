import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FoxgloveClient } from '@foxglove/ws-protocol';
import { decodeJpeg } from '@syncap/jpeg';
import { expect, it } from 'vitest';
import { runNodeCli } from '../support/cli.js';
import { type LiveImage, watchImages } from '../support/foxglove-images.js';
import { NODE_BIN, SERVER_BIN, type Started, startProcess, stop, waitFor } from '../support/processes.js';
import { bagFiles, onlyBag, readBagFile, stampNs } from '../support/ros2-bag.js';
import { LOOPBACK_PATHS, startMjpegFeeder, vividPaths } from './vivid-env.js';

/** A CLI's start-up (loading its modules) under the VM's TCG takes tens of seconds. */
const CLI_START_MS = 90_000;

/**
 * The pixel path on real devices: MJPG from a v4l2loopback node (fed by ffmpeg) and YUYV from
 * vivid, recorded by `capture --record` and shown live by `join` (dashboard thumbnails on the
 * server, images in Foxglove). Every JPEG read back is decoded by libjpeg-turbo.
 */
export function describePixelPath(): void {
  it('capture --record from the MJPG loopback device: CompressedImage frames as the camera sent them, each a JPEG that decodes to 320x240', async () => {
    const device = LOOPBACK_PATHS[1];
    const feeder = await startMjpegFeeder(device);
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

  it('join with a vivid YUYV camera and the MJPG loopback device: thumbnails of both reach the dashboard, and Foxglove gets both live', async () => {
    const mjpg = LOOPBACK_PATHS[2];
    const [yuyv] = vividPaths();
    const feeder = await startMjpegFeeder(mjpg);
    const server = startProcess(SERVER_BIN, ['--port', '0', '--token', 'vivid-token']);
    let node: Started | undefined;
    let client: FoxgloveClient | undefined;
    try {
      const port = await printed(server, /"port":(\d+)/, 'the server to listen');
      node = startProcess(NODE_BIN, [
        'join',
        `ws://127.0.0.1:${port}`,
        '--token',
        'vivid-token',
        '--node-id',
        'rig',
        '--camera',
        `${yuyv}:320x180@30:YUYV`,
        '--camera',
        `${mjpg}:320x240:MJPG`,
        // The loopback device's frames come when ffmpeg writes them: it has no phase to lock, so its
        // frames meet vivid's within the default 1 ms window only by chance (a CI run saw one group in
        // 60 s). Approximate pairs each with vivid's nearest; the live view shows grouped frames.
        '--no-phase-lock',
        '--policy',
        'approximate',
        '--thumbnails-per-s',
        '4',
        '--foxglove-port',
        '0',
        '--duration-s',
        '60',
      ]);
      const url = await printed(node, /"foxglove":"([^"]+)"/, 'the Foxglove URL');
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
        (error: Error) => {
          const counts = [...live].map(([t, l]) => `${t} ${l.length}`).join(', ') || 'none';
          throw new Error(`${error.message} (images so far: ${counts}; node stderr: ${node!.stderr.slice(-5).join(' | ') || '(empty)'})`);
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
      if (node) expect(await stop(node)).toBe(0);
      await stop(server);
    }
  }, 240_000);
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
