/**
 * bench/core-matcher: frames/s and ns/frame for each grouping policy at 4, 16 and 64
 * cameras, next to a trivial loop over the same frames in the same run (the
 * baseline: what merely touching each frame costs here).
 *
 * stdout: one JSON object per measurement. stderr: a readable summary.
 * Usage: npm run bench:core [-- --frames N --repeats R]
 */
import { createPolicy, type Frame, POLICY_NAMES, type PolicyConfig } from '@syncap/core';
import { simulateRig } from '@syncap/sim';

const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const targetFrames = flag('--frames', 400_000);
const repeats = flag('--repeats', 5);

function framesFor(cameras: number): Frame[] {
  const fps = 60;
  const durationNs = (targetFrames / cameras / fps) * 1e9;
  // Realistic input: 50 µs jitter, 1% drops, ±20 ppm, frames in arrival order.
  return simulateRig({ seed: 1, cameras, fps, durationNs, camera: { jitterNs: 50_000, dropRate: 0.01 }, perCamera: (i) => ({ ppm: ((i * 7) % 41) - 20 }) })
    .frames as Frame[];
}

function timeBest(run: () => number): { ns: number; check: number } {
  let best = Number.POSITIVE_INFINITY;
  let check = 0;
  for (let r = 0; r < repeats; r++) {
    const t0 = process.hrtime.bigint();
    check = run();
    const ns = Number(process.hrtime.bigint() - t0);
    if (ns < best) best = ns;
  }
  return { ns: best, check };
}

function baseline(frames: readonly Frame[]): number {
  // Touch every frame the way any policy must: read its camera and convert its time.
  const epoch = frames[0]!.rigTimeNs;
  const seen = new Map<string, number>();
  let acc = 0;
  for (const f of frames) {
    acc += Number(f.rigTimeNs - epoch) + (seen.get(f.cameraId) ?? 0);
    seen.set(f.cameraId, f.seq);
  }
  return acc;
}

function runPolicy(config: PolicyConfig, cameraIds: readonly string[], frames: readonly Frame[]): number {
  let groups = 0;
  const policy = createPolicy(
    config,
    cameraIds.map((id) => ({ id, fps: 60 })),
    { group: () => groups++, discard: () => {} },
  );
  for (const f of frames) policy.push(f);
  policy.flush();
  return groups;
}

const results: Array<Record<string, unknown>> = [];
for (const cameras of [4, 16, 64]) {
  const frames = framesFor(cameras);
  const cameraIds = Array.from({ length: cameras }, (_, i) => `cam${i}`);
  const base = timeBest(() => baseline(frames));
  const baselineFramesPerSec = (frames.length / base.ns) * 1e9;
  for (const name of POLICY_NAMES) {
    const config = { name, ...(name === 'approximate' ? { queueSize: 10 } : {}) } as PolicyConfig;
    const t = timeBest(() => runPolicy(config, cameraIds, frames));
    const framesPerSec = (frames.length / t.ns) * 1e9;
    const record = {
      bench: 'core-matcher',
      policy: name,
      cameras,
      frames: frames.length,
      groups: t.check,
      framesPerSec: Math.round(framesPerSec),
      nsPerFrame: Number((t.ns / frames.length).toFixed(1)),
      baselineFramesPerSec: Math.round(baselineFramesPerSec),
      baselineNsPerFrame: Number((base.ns / frames.length).toFixed(1)),
      ratioToBaseline: Number((baselineFramesPerSec / framesPerSec).toFixed(2)),
    };
    results.push(record);
    process.stdout.write(`${JSON.stringify(record)}\n`);
  }
}

process.stderr.write(`\ncore-matcher (best of ${repeats}, ~${targetFrames} frames per rig, one core)\n`);
process.stderr.write(
  `${'policy'.padEnd(12)}${'cams'.padStart(5)}${'frames/s'.padStart(14)}${'ns/frame'.padStart(10)}${'baseline/s'.padStart(14)}${'×base'.padStart(7)}\n`,
);
for (const r of results) {
  process.stderr.write(
    `${String(r.policy).padEnd(12)}${String(r.cameras).padStart(5)}${Number(r.framesPerSec).toLocaleString('en').padStart(14)}${String(r.nsPerFrame).padStart(10)}${Number(r.baselineFramesPerSec).toLocaleString('en').padStart(14)}${String(r.ratioToBaseline).padStart(7)}\n`,
  );
}
const target = results.filter((r) => r.cameras === 16 && (r.policy === 'window' || r.policy === 'approximate'));
const met = target.every((r) => Number(r.framesPerSec) >= 1_000_000);
process.stderr.write(`target ≥ 1,000,000 frames/s for window and approximate at 16 cameras: ${met ? 'met' : 'NOT met'}\n`);
