/**
 * Delivery stress: the lifetimes the native addon must survive, run as a child process
 * (under AddressSanitizer in CI) by delivery-stress-suite.ts inside the vivid VM.
 *
 *   node --expose-gc test/vivid/delivery-stress.mjs <scenario> [iterations]
 *
 * Plain JavaScript over the built packages, run by plain `node`: tsx's module loader once
 * failed to parse a dependency in CI (a "Parse error" in zod, under TCG), a failure of the
 * loader, not of the addon this exercises; and workers do not inherit tsx's loader anyway.
 *
 * Scenarios: `cycles` (open/start/stop/close on every device with forced GC, both
 * deliveries, with the awkward orders: close inside a frame listener, release after close,
 * stop before the start instant, a subarray outliving its frame across close, and across its
 * camera dropped without close and collected), `workers` (cameras opened
 * in worker threads that are terminated while streaming, while the main thread streams on),
 * and `exit` (process.exit while streaming: the exit hooks stop threads and close devices).
 * Prints one JSON line and exits 0.
 */
import { Worker } from 'node:worker_threads';
import { listDevices, monotonicNowNs, V4l2Camera } from '@syncap/native-v4l2';

const FMT = { width: 320, height: 180, pixelFormat: 'YUYV', fps: 30 };
const gc = globalThis.gc ?? (() => undefined);

function vivid() {
  return listDevices()
    .filter((d) => d.driver === 'vivid' && d.canCapture)
    .map((d) => d.path)
    .slice(0, 4);
}

/** Resolves after `count` frames (released unless `keep`), or rejects after `timeoutMs`. */
function frames(camera, count, keep = false, timeoutMs = 20_000) {
  return new Promise((resolve, reject) => {
    const got = [];
    const timer = setTimeout(() => {
      off();
      reject(new Error(`${camera.id}: ${got.length}/${count} frames in ${timeoutMs} ms`));
    }, timeoutMs);
    const off = camera.onFrame((f) => {
      got.push(f);
      if (!keep) f.data?.release();
      if (got.length === count) {
        clearTimeout(timer);
        off();
        resolve(got);
      }
    });
  });
}

/**
 * A 64-byte subarray of every kept frame, by camera, and weak references to the frames' own
 * arrays; the frames are dropped. A function of its own: a temporary of the async caller's
 * frame would keep the frames alive.
 */
function sliceAndDrop(kept) {
  const byCamera = kept.map((frames) => frames.map((f) => f.data.bytes.subarray(0, 64)));
  const views = kept.flat().map((f) => new WeakRef(f.data.bytes));
  kept.length = 0;
  return { byCamera, views };
}

/** A few turns of the loop, each with a GC: finalizers run as tasks after the GC that found their objects. */
async function settle(turns) {
  for (let k = 0; k < turns; k++) {
    await new Promise((resolve) => setImmediate(resolve));
    gc();
  }
}

/**
 * Drops the cameras (empties `cams`) and collects garbage until they are gone (their
 * finalizers close the devices); resolves to which were collected. One the engine still holds
 * (an async function's registers can keep a loop's last value) is closed instead.
 */
async function dropCameras(cams) {
  const collected = cams.map(() => false);
  const registry = new FinalizationRegistry((k) => {
    collected[k] = true;
  });
  for (const [k, c] of cams.entries()) registry.register(c, k);
  const refs = cams.map((c) => new WeakRef(c));
  cams.length = 0;
  await settle(40);
  for (const [k, ref] of refs.entries()) if (!collected[k]) await ref.deref()?.close();
  return collected;
}

const VARIANTS = 7;

async function cycles(iterations) {
  const paths = vivid();
  let frameCount = 0;
  let viewsCollected = 0;
  let camerasCollected = 0;
  let keptBytesSum = 0;
  let reopenedWhileKept = 0;
  for (let i = 0; i < iterations; i++) {
    // Each variant with both deliveries: 2 × VARIANTS iterations cover every pair.
    const delivery = i % 2 === 0 ? 'event-loop' : 'thread';
    const cams = paths.map((p, k) => new V4l2Camera(p, { ...FMT, id: `c${k}`, buffers: 4, delivery }));
    for (const c of cams) await c.open();
    const variant = Math.floor(i / 2) % VARIANTS;
    if (variant === 0) {
      // A start instant far ahead, stopped before it comes.
      const atNs = monotonicNowNs() + 2_000_000_000n;
      const started = cams.map((c) => c.start({ atNs }).catch(() => undefined));
      for (const c of cams) await c.stop();
      await Promise.all(started);
    } else {
      await Promise.all(cams.map((c) => c.start()));
      const kept = await Promise.all(cams.map((c) => frames(c, 3, variant === 1 || variant === 5 || variant === 6)));
      frameCount += kept.flat().length;
      if (variant === 2) {
        // Closed from inside a frame listener.
        await Promise.all(
          cams.map(
            (c) =>
              new Promise((resolve) => {
                const off = c.onFrame((f) => {
                  off();
                  f.data?.release();
                  void c.close().then(resolve);
                });
              }),
          ),
        );
      }
      if (variant === 3) {
        // Stop, start again at once, stop.
        for (const c of cams) await c.stop();
        await Promise.all(cams.map((c) => c.start()));
        frameCount += (await Promise.all(cams.map((c) => frames(c, 2)))).flat().length;
      }
      for (const c of cams) await c.stop();
      if (variant === 5) {
        // Subarrays kept, their frames dropped unreleased and collected: close must still detach
        // them before it unmaps the buffers (reading one would fault).
        const { byCamera, views } = sliceAndDrop(kept);
        const slices = byCamera.flat();
        await settle(1); // a WeakRef holds its target until the job ends
        viewsCollected += views.filter((v) => v.deref() === undefined).length;
        if (slices.some((s) => s.byteLength !== 64)) throw new Error('a kept subarray was detached while its buffer was held');
        for (const c of cams) await c.close();
        if (slices.some((s) => s.byteLength !== 0)) throw new Error('a subarray outliving its frame still reads an unmapped buffer after close');
      }
      if (variant === 6) {
        // Subarrays kept, their frames and cameras dropped without close: the cameras'
        // finalizers close the devices without touching JS (no detach), so the subarrays must
        // keep their buffers mapped — stale bytes, never unmapped memory (reading would fault).
        const { byCamera } = sliceAndDrop(kept);
        const collected = await dropCameras(cams);
        const slices = byCamera.filter((_, k) => collected[k]).flat();
        camerasCollected += collected.filter(Boolean).length;
        if (slices.some((sl) => sl.byteLength !== 64)) throw new Error('a subarray kept past its dropped camera lost its bytes');
        // Every byte read (unmapped memory would fault here); the sum is printed so the reads stay.
        for (const sl of slices) for (let b = 0; b < sl.length; b++) keptBytesSum += sl[b];
        // Meanwhile the device is free: the finalizer's REQBUFS(0) orphaned the buffers (the
        // driver keeps them for the mappings), so it opens again, here and in other processes.
        const held = collected.findIndex((c, k) => c && byCamera[k].length > 0);
        if (held >= 0) {
          const probe = new V4l2Camera(paths[held], { ...FMT, id: 'probe' });
          await probe.open();
          await probe.close();
          reopenedWhileKept++;
        }
        // Let the mappings go (and the driver's orphaned buffers with them).
        slices.length = 0;
        byCamera.length = 0;
        await settle(4);
      }
      if (variant === 1) {
        // Frames held across stop and close, released after close: nothing to requeue, nothing read.
        const views = kept.flat().map((f) => f.data.bytes);
        for (const c of cams) await c.close();
        for (const f of kept.flat()) f.data?.release();
        if (views.some((v) => v.byteLength !== 0)) throw new Error('a frame held across close still reads bytes');
      }
    }
    if (variant === 4) {
      // Closed with frames still held, the frames then dropped unreleased: their finalizers run after close.
      const held = await Promise.all(cams.map((c) => c.start().then(() => frames(c, 2, true))));
      frameCount += held.flat().length;
    }
    for (const c of cams) await c.close();
    gc();
  }
  gc();
  return { iterations, frames: frameCount, viewsCollected, camerasCollected, keptBytesSum, reopenedWhileKept };
}

/**
 * A worker streaming from one device until terminated; it tells the parent after 3 frames and,
 * when asked, ends itself (process.exit in a worker tears its environment down too).
 */
const WORKER = `
const { workerData, parentPort } = require('node:worker_threads');
import('@syncap/native-v4l2').then(async ({ V4l2Camera }) => {
  const cam = new V4l2Camera(workerData.path, { ...workerData.format, id: 'w', buffers: 4, delivery: workerData.delivery });
  await cam.open();
  let n = 0;
  cam.onFrame((f) => {
    f.data.release();
    if (++n === 3) parentPort.postMessage('streaming');
  });
  await cam.start();
  if (workerData.selfExit) setTimeout(() => process.exit(0), 50 + Math.random() * 100);
});
`;

async function workers(iterations) {
  const paths = vivid();
  // The main thread streams throughout: terminating a worker must leave its cameras alone.
  const main = new V4l2Camera(paths[0], { ...FMT, id: 'main', buffers: 4, delivery: 'event-loop' });
  await main.open();
  let mainFrames = 0;
  main.onFrame((f) => {
    f.data?.release();
    mainFrames++;
  });
  await main.start();
  for (let i = 0; i < iterations; i++) {
    const delivery = i % 2 === 0 ? 'event-loop' : 'thread';
    const ws = paths.slice(1).map((path) => new Worker(WORKER, { eval: true, workerData: { path, delivery, format: FMT, selfExit: i % 4 >= 2 } }));
    await Promise.all(
      ws.map(
        (w) =>
          new Promise((resolve, reject) => {
            w.once('message', () => resolve());
            w.once('exit', () => resolve());
            w.once('error', reject);
          }),
      ),
    );
    await Promise.all(ws.map((w) => w.terminate()));
    gc();
    const before = mainFrames;
    await frames(main, 3);
    if (mainFrames <= before) throw new Error('the main thread camera stopped when a worker was terminated');
  }
  await main.close();
  return { iterations, mainFrames };
}

async function streamingCameras() {
  const cams = vivid().map((p, k) => new V4l2Camera(p, { ...FMT, id: `x${k}`, buffers: 4, delivery: k % 2 === 0 ? 'event-loop' : 'thread' }));
  for (const c of cams) await c.open();
  await Promise.all(cams.map((c) => c.start()));
  await Promise.all(cams.map((c) => frames(c, 2)));
  for (const c of cams) c.onFrame((f) => f.data?.release());
  return cams;
}

{
  const [scenario = 'cycles', count = '20'] = process.argv.slice(2);
  const n = Number(count);
  switch (scenario) {
    case 'cycles':
      process.stdout.write(`${JSON.stringify({ scenario, ...(await cycles(n)) })}\n`);
      break;
    case 'workers':
      process.stdout.write(`${JSON.stringify({ scenario, ...(await workers(n)) })}\n`);
      break;
    case 'exit':
      await streamingCameras();
      process.stdout.write(`${JSON.stringify({ scenario })}\n`);
      process.exit(0);
      break;
    default:
      throw new Error(`unknown scenario ${scenario}`);
  }
}
