import { readPatternStamp } from '@syncap/sim';
import { describe, expect, it } from 'vitest';
import { watchImages } from '../support/foxglove-images.js';
import { NODE_BIN, SERVER_BIN, startProcess, stop, waitFor } from '../support/processes.js';

describe('live view in Foxglove', () => {
  it('capture --foxglove-port serves the recording topics: a Foxglove client decodes live images of the running cameras', async () => {
    const p = startProcess(NODE_BIN, [
      'capture',
      '--camera',
      'sim:320x180@30:YUYV',
      '--camera',
      'sim:320x180@30:YUYV',
      '--foxglove-port',
      '0',
      '--duration',
      '30',
    ]);
    try {
      const url = await waitFor(() => p.stdout.map((l) => /"foxglove":"([^"]+)"/.exec(l)?.[1]).find(Boolean), 20_000, 'the Foxglove URL');
      const seqs: number[] = [];
      const { client, topics } = watchImages(
        url,
        (t) => t === '/cam1/image_raw',
        (_t, image) => seqs.push(readPatternStamp(image.data, image.width!, image.height!, 2)!.seq),
      );
      await waitFor(() => (seqs.length >= 5 ? true : undefined), 20_000, 'five live images');
      expect(topics).toEqual(expect.arrayContaining(['/cam0/image_raw', '/cam1/image_raw', '/syncap/frame_groups', '/syncap/clock_samples']));
      // Live images of a running camera: their seq moves forward.
      expect(seqs.every((s, i) => i === 0 || s > seqs[i - 1]!)).toBe(true);
      client.close();
    } finally {
      expect(await stop(p)).toBe(0);
    }
  }, 60_000);

  it("join --foxglove-port serves the node's live images to Foxglove, while its thumbnails reach the server", async () => {
    const server = startProcess(SERVER_BIN, ['--port', '0', '--token', 'fox-token']);
    let node: ReturnType<typeof startProcess> | undefined;
    try {
      const port = await waitFor(() => server.stdout.map((l) => /"port":(\d+)/.exec(l)?.[1]).find(Boolean), 20_000, 'the server to listen');
      node = startProcess(NODE_BIN, [
        'join',
        `ws://127.0.0.1:${port}`,
        '--token',
        'fox-token',
        '--node-id',
        'fox',
        '--simulate',
        '2',
        '--pixels',
        '320x180:YUYV',
        '--foxglove-port',
        '0',
        '--duration-s',
        '40',
      ]);
      const url = await waitFor(() => node!.stdout.map((l) => /"foxglove":"([^"]+)"/.exec(l)?.[1]).find(Boolean), 20_000, 'the Foxglove URL');
      const images: Array<{ width: number; height: number; encoding: string; exposureNs: bigint }> = [];
      const { client, topics } = watchImages(
        url,
        (t) => t === '/cam0/image_raw',
        (_t, image) => {
          const { exposureNs } = readPatternStamp(image.data, image.width!, image.height!, 2)!;
          images.push({ width: image.width!, height: image.height!, encoding: image.encoding!, exposureNs });
        },
      );
      // The simulated cameras start once their PTP has settled (3 s).
      await waitFor(() => (images.length >= 5 ? true : undefined), 30_000, 'five live images from join');
      expect(topics).toEqual(expect.arrayContaining(['/cam0/image_raw', '/cam1/image_raw', '/syncap/frame_groups', '/syncap/clock_samples']));
      // The cameras' real geometry and format (not a placeholder), and a running camera: the exposure instant
      // drawn into each image moves forward (its seq may start again: phase lock restarts cameras).
      expect(images[0]).toMatchObject({ width: 320, height: 180, encoding: 'yuv422_yuy2' });
      expect(images.every((im, i) => i === 0 || im.exposureNs > images[i - 1]!.exposureNs)).toBe(true);
      client.close();
      // Meanwhile the node sends its thumbnails to the server: both cameras', real JPEGs.
      const status = await waitFor(
        async () => {
          const s = (await (await fetch(`http://127.0.0.1:${port}/api/status`)).json()) as { thumbnails: Record<string, { width: number; version: number }> };
          return s.thumbnails['fox/cam0'] && s.thumbnails['fox/cam1'] ? s : undefined;
        },
        20_000,
        'thumbnails of both cameras on the server',
      );
      expect(status.thumbnails['fox/cam0']!.width).toBe(320);
      const jpeg = new Uint8Array(await (await fetch(`http://127.0.0.1:${port}/api/thumbnails/fox/cam0.jpg`)).arrayBuffer());
      expect([jpeg[0], jpeg[1]]).toEqual([0xff, 0xd8]);
    } finally {
      if (node) expect(await stop(node)).toBe(0);
      await stop(server);
    }
  }, 90_000);
});
