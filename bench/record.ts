/**
 * bench/record: the recorder at full resolution, next to writing the same bytes raw to the
 * same disk in the same run.
 *
 * For each rig (N simulated cameras with real pixels, served from a ring of pre-rendered
 * images so that drawing is not what is measured):
 *  - a paced run: the cameras at their frame rate, through the capture manager into the real
 *    recorder, for --seconds: framesPerSec written and frames dropped (by the cameras for want
 *    of a buffer, by the manager, by the recorder), the figures that say whether it keeps up;
 *  - throughput: the same groups fed to the recorder as fast as it takes them (mbPerSec), and
 *    the same buffers written with plain writev, one call per group, to a file on the same disk
 *    (rawMbPerSec).
 *
 * stdout: one JSON line per rig. stderr: a readable table.
 * Usage: npm run bench:record [-- --seconds S --dir D --rigs 8x1280x720:YUYV,1x1920x1080:YUYV,…]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Frame, FrameGroup, SyncCaptureManager } from '@syncap/core';
import { RealtimePacer } from '@syncap/harness';
import { encodeJpegSync } from '@syncap/jpeg';
import { Ros2Recorder } from '@syncap/record';
import { SeededRandom, SimCamera, SimScheduler } from '@syncap/sim';
import { numberFlag, stringFlag } from './bench-flags.js';

const seconds = numberFlag('--seconds', 5);
const root = stringFlag('--dir', tmpdir());
const rigs = stringFlag('--rigs', '1x1280x720:YUYV,4x1280x720:YUYV,8x1280x720:YUYV,2x1920x1080:YUYV,4x1920x1080:YUYV,8x1280x720:MJPG,4x1920x1080:MJPG')
  .split(',')
  .map((r) => {
    const m = /^(\d+)x(\d+)x(\d+):(YUYV|MJPG)$/.exec(r);
    if (!m) throw new Error(`--rigs: "${r}" is not NxWIDTHxHEIGHT:YUYV|MJPG`);
    return { cameras: Number(m[1]), width: Number(m[2]), height: Number(m[3]), pixelFormat: m[4] as 'YUYV' | 'MJPG' };
  });
const FPS = 30;
const encodeJpeg = (yuyv: Uint8Array, width: number, height: number) => encodeJpegSync(yuyv, { width, height, pixelFormat: 'YUYV', quality: 85 });

type Rig = (typeof rigs)[number];

function cameras(scheduler: SimScheduler, rig: Rig): SimCamera[] {
  const random = new SeededRandom(7);
  return Array.from(
    { length: rig.cameras },
    (_, i) =>
      new SimCamera(scheduler, random.fork(`cam${i}`), {
        id: `cam${i}`,
        fps: FPS,
        buffers: 16,
        jitterNs: 20_000,
        pixels: { width: rig.width, height: rig.height, pixelFormat: rig.pixelFormat, mode: 'ring', ringFrames: 8, encodeJpeg },
      }),
  );
}

function recorderCameras(cams: readonly SimCamera[]) {
  return cams.map((c) => ({ id: c.id, width: c.info!.width, height: c.info!.height, pixelFormat: c.info!.pixelFormat, buffers: c.info!.buffers }));
}

/** The cameras at their rate, through the manager into the recorder, for `seconds` of wall time. */
async function paced(rig: Rig, dir: string) {
  const scheduler = new SimScheduler(BigInt(Date.now()) * 1_000_000n);
  const cams = cameras(scheduler, rig);
  const manager = new SyncCaptureManager({ policy: { name: 'barrier' }, clock: scheduler.clock, timers: scheduler.timers });
  for (const c of cams) manager.addCamera(c, { fps: FPS });
  const pacer = new RealtimePacer(scheduler, 2);
  pacer.start();
  await manager.start();
  const recorder = await Ros2Recorder.create({ dir: join(dir, 'paced'), cameras: recorderCameras(cams) });
  const t0 = performance.now();
  const consume = (async () => {
    for await (const group of manager) recorder.recordGroup(group);
  })();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  await manager.stop();
  pacer.stop();
  await consume;
  const stats = await recorder.close();
  const wallS = (performance.now() - t0) / 1000;
  const cameraDrops = cams.reduce((n, c) => n + c.counts['no-buffer'], 0);
  const recorderDrops = Object.values(stats.notRecorded).reduce((n, r) => n + Object.values(r).reduce((a, b) => a + (b ?? 0), 0), 0);
  const managerDrops = manager.stats().droppedGroups * rig.cameras;
  return {
    framesPerSec: stats.framesWritten / wallS,
    pacedMbPerSec: stats.bytesWritten / 2 ** 20 / wallS,
    dropped: cameraDrops + recorderDrops + managerDrops,
    droppedBy: { camera: cameraDrops, manager: managerDrops, recorder: stats.notRecorded },
    copied: stats.framesCopied,
  };
}

/** The ring's frames as groups (what the manager would hand over), for the throughput runs. */
function groupsOf(rig: Rig): FrameGroup[] {
  const scheduler = new SimScheduler(0n);
  const cams = cameras(scheduler, rig);
  const collected: Frame[][] = cams.map(() => []);
  for (const [i, c] of cams.entries()) c.onFrame((f) => collected[i]!.push(f));
  for (const c of cams) {
    void c.open();
    void c.start({ atNs: 1_000_000_000n });
  }
  scheduler.runUntil(1_000_000_000n + 8n * 34_000_000n);
  const ids = cams.map((c) => c.id);
  return Array.from(
    { length: 8 },
    (_, k) =>
      new FrameGroup(
        k,
        ids,
        collected.map((frames) => frames[k]!),
      ),
  );
}

const groupBytes = (g: FrameGroup) => [...g.frames.values()].reduce((n, f) => n + f.data!.bytes.byteLength, 0);

/** The recorder fed as fast as it takes groups (waiting when its queue is full), for ~`seconds`. */
async function recorderThroughput(rig: Rig, dir: string, groups: readonly FrameGroup[], run: number): Promise<number> {
  const recorder = await Ros2Recorder.create({
    dir: join(dir, `throughput-${run}`),
    cameras: [...groups[0]!.frames.values()].map((f) => ({ id: f.cameraId, width: rig.width, height: rig.height, pixelFormat: rig.pixelFormat })),
  });
  const t0 = performance.now();
  let n = 0;
  let time = 1_700_000_000_000_000_000n;
  while (performance.now() - t0 < seconds * 1000) {
    const template = groups[n % groups.length]!;
    // A fresh group per write (new ids, times), over the same ring buffers: no copy.
    time += BigInt(Math.round(1e9 / FPS));
    const frames = [...template.frames.values()].map((f) => ({ ...f, rigTimeNs: time, data: { bytes: f.data!.bytes, release: () => {} } }));
    recorder.recordGroup(new FrameGroup(n, [...template.frames.keys()], frames));
    n++;
    await recorder.whenQueueBelow(64 * 2 ** 20);
  }
  const stats = await recorder.close();
  const mbPerSec = stats.bytesWritten / 2 ** 20 / ((performance.now() - t0) / 1000);
  rmSync(join(dir, `throughput-${run}`), { recursive: true, force: true });
  return mbPerSec;
}

/** The same buffers written raw: one writev per group to a file on the same disk. */
async function rawThroughput(dir: string, groups: readonly FrameGroup[]): Promise<number> {
  const handle = await open(join(dir, 'raw.bin'), 'w');
  const t0 = performance.now();
  let bytes = 0;
  let n = 0;
  while (performance.now() - t0 < seconds * 1000) {
    const g = groups[n++ % groups.length]!;
    const { bytesWritten } = await handle.writev([...g.frames.values()].map((f) => f.data!.bytes));
    bytes += bytesWritten;
  }
  await handle.close();
  rmSync(join(dir, 'raw.bin'), { force: true });
  return bytes / 2 ** 20 / ((performance.now() - t0) / 1000);
}

const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
for (const rig of rigs) {
  const dir = mkdtempSync(join(root, 'syncap-bench-record-'));
  try {
    const p = await paced(rig, dir);
    const groups = groupsOf(rig);
    // Alternated, best of two each: the page cache and writeback favour neither side.
    const raw1 = await rawThroughput(dir, groups);
    const rec1 = await recorderThroughput(rig, dir, groups, 1);
    const rec2 = await recorderThroughput(rig, dir, groups, 2);
    const raw2 = await rawThroughput(dir, groups);
    const rawMbPerSec = Math.max(raw1, raw2);
    const mbPerSec = Math.max(rec1, rec2);
    const line = {
      bench: 'record',
      cameras: rig.cameras,
      width: rig.width,
      height: rig.height,
      pixelFormat: rig.pixelFormat,
      fps: FPS,
      framesPerSec: round(p.framesPerSec),
      mbPerSec: round(mbPerSec),
      rawMbPerSec: round(rawMbPerSec),
      dropped: p.dropped,
      offeredMbPerSec: round((groupBytes(groups[0]!) * FPS) / 2 ** 20),
      pacedMbPerSec: round(p.pacedMbPerSec),
      copied: p.copied,
      droppedBy: p.droppedBy,
      seconds,
    };
    process.stdout.write(`${JSON.stringify(line)}\n`);
    process.stderr.write(
      `${rig.cameras} × ${rig.width}x${rig.height} ${rig.pixelFormat} @${FPS}: ${line.framesPerSec} frames/s written, ${line.dropped} dropped (offered ${line.offeredMbPerSec} MB/s); ` +
        `throughput recorder ${line.mbPerSec} MB/s vs raw writev ${line.rawMbPerSec} MB/s (${round(mbPerSec / rawMbPerSec, 2)}×); ${line.copied} frames copied while the disk was behind\n`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
