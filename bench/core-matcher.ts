/**
 * bench/core-matcher: frames/s and ns/frame for each grouping policy at 4, 16 and 64
 * cameras, next to a trivial loop over the same frames in the same run (the
 * baseline: what merely touching each frame costs here); then syncap's ApproximateTime
 * and ExactTime against ROS 1 message_filters' own C++ (Debian's libmessage-filters-dev,
 * built by bench/ros-peer.ts) on the same frames, at 4 and 9 cameras (ROS's maximum).
 *
 * Both sides time only the matching (frames and ROS's message events are built before the
 * clock starts), best of R runs, one core each.
 *
 * stdout: one JSON object per measurement. stderr: a readable summary.
 * Usage: npm run bench:core [-- --frames N --repeats R --no-ros]
 */
import { createPolicy, type Frame, type PolicyConfig, timingFrame } from '@syncap/core';
import { SeededRandom, simulateRig } from '@syncap/sim';
import { hasFlag, numberFlag } from './bench-flags.js';
import { rosPeerUnavailable, runRosPeer } from './ros-peer.js';

const targetFrames = numberFlag('--frames', 400_000);
const repeats = numberFlag('--repeats', 5);
const withRos = !hasFlag('--no-ros');
const FPS = 60;

/** Free-running cameras: 50 µs jitter, 1% drops, ±20 ppm, frames in arrival order. */
function jitteredFrames(cameras: number): Frame[] {
  const durationNs = (targetFrames / cameras / FPS) * 1e9;
  return simulateRig({
    seed: 1,
    cameras,
    fps: FPS,
    durationNs,
    camera: { jitterNs: 50_000, dropRate: 0.01 },
    perCamera: (i) => ({ ppm: ((i * 7) % 41) - 20 }),
  }).frames as Frame[];
}

/** Hardware-triggered cameras stamped by one clock (what ExactTime is for): identical stamps, 1% drops, shuffled arrival. */
function triggeredFrames(cameras: number): Frame[] {
  const random = new SeededRandom(2);
  const frames: Frame[] = [];
  const order = Array.from({ length: cameras }, (_, i) => i);
  const periodNs = BigInt(Math.round(1e9 / FPS));
  for (let k = 0; frames.length < targetFrames; k++) {
    for (let i = cameras - 1; i > 0; i--) {
      const j = random.int(0, i);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    const t = 1_000_000_000n + BigInt(k) * periodNs;
    for (const c of order) if (!random.chance(0.01)) frames.push(timingFrame(`cam${c}`, k, t));
  }
  return frames;
}

interface Timed {
  readonly ns: number;
  /** What the run produced (groups, or a checksum), so that it cannot be optimised away. */
  readonly check: number;
}

function timeBest(run: () => Timed): Timed {
  let best: Timed = { ns: Number.POSITIVE_INFINITY, check: 0 };
  for (let r = 0; r < repeats; r++) {
    const result = run();
    if (result.ns < best.ns) best = result;
  }
  return best;
}

function baseline(frames: readonly Frame[]): Timed {
  // Touch every frame the way any policy must: read its camera and convert its time.
  const t0 = process.hrtime.bigint();
  const epoch = frames[0]!.rigTimeNs;
  const seen = new Map<string, number>();
  let acc = 0;
  for (const f of frames) {
    acc += Number(f.rigTimeNs - epoch) + (seen.get(f.cameraId) ?? 0);
    seen.set(f.cameraId, f.seq);
  }
  return { ns: Number(process.hrtime.bigint() - t0), check: acc };
}

/** Pushes every frame through a fresh policy; times the pushes only (construction excluded). */
function runPolicy(config: PolicyConfig, cameraIds: readonly string[], frames: readonly Frame[]): Timed {
  let groups = 0;
  const policy = createPolicy(
    config,
    cameraIds.map((id) => ({ id, fps: FPS })),
    { group: () => groups++, discard: () => {} },
  );
  const t0 = process.hrtime.bigint();
  for (const f of frames) policy.push(f);
  return { ns: Number(process.hrtime.bigint() - t0), check: groups };
}

const configFor = (name: string, cameraIds: readonly string[]): PolicyConfig =>
  (
    ({
      barrier: { name: 'barrier' },
      window: { name: 'window' },
      approximate: { name: 'approximate', queueSize: 10 },
      exact: { name: 'exact', queueSize: 10 },
      hybrid: { name: 'hybrid' },
      epsilon: { name: 'epsilon', epsilonNs: 1_000_000, queueSize: 10 },
      latest: { name: 'latest', pivot: cameraIds[0] },
    }) as Record<string, PolicyConfig>
  )[name]!;

/**
 * syncap against ROS 1 message_filters' C++: same frames, same run. Measured first, while
 * only approximate and exact have run in this process, so that the shared policy code is not
 * yet polymorphic over every policy class (an application runs one policy).
 */
function compareWithRos(): void {
  const unavailable = withRos ? rosPeerUnavailable() : 'skipped (--no-ros)';
  if (unavailable) {
    process.stderr.write(`\nROS peer: ${unavailable}\n`);
    if (withRos && process.env.CI === 'true') process.exitCode = 1;
  } else {
    const vsRos: Array<Record<string, number | string>> = [];
    for (const cameras of [4, 9]) {
      const cameraIds = Array.from({ length: cameras }, (_, i) => `cam${i}`);
      const index = new Map(cameraIds.map((id, i) => [id, i]));
      for (const policy of ['approximate', 'exact'] as const) {
        const frames = policy === 'exact' ? triggeredFrames(cameras) : jitteredFrames(cameras);
        const cameraOf = Uint8Array.from(frames, (f) => index.get(f.cameraId)!);
        const timeNs = BigInt64Array.from(frames, (f) => f.rigTimeNs);
        const ros = runRosPeer({ policy, cameras, queueSize: 10, cameraOf, timeNs, repeats });
        const mine = timeBest(() => runPolicy({ name: policy, queueSize: 10 }, cameraIds, frames));
        const syncapFramesPerSec = (frames.length / mine.ns) * 1e9;
        const rosFramesPerSec = (frames.length / ros.bestNs) * 1e9;
        const record = {
          bench: 'core',
          policy,
          cameras,
          frames: frames.length,
          syncapGroups: mine.check,
          rosGroups: ros.groups,
          syncapFramesPerSec: Math.round(syncapFramesPerSec),
          rosFramesPerSec: Math.round(rosFramesPerSec),
          ratio: Number((syncapFramesPerSec / rosFramesPerSec).toFixed(2)),
        };
        vsRos.push(record);
        process.stdout.write(`${JSON.stringify(record)}\n`);
      }
    }
    process.stderr.write(`\nsyncap vs ROS 1 message_filters C++ (same frames, matching only, best of ${repeats})\n`);
    process.stderr.write(
      `${'policy'.padEnd(12)}${'cams'.padStart(5)}${'syncap/s'.padStart(14)}${'ROS C++/s'.padStart(14)}${'ratio'.padStart(7)}${'groups'.padStart(16)}\n`,
    );
    for (const r of vsRos) {
      process.stderr.write(
        `${String(r.policy).padEnd(12)}${String(r.cameras).padStart(5)}${Number(r.syncapFramesPerSec).toLocaleString('en').padStart(14)}${Number(r.rosFramesPerSec).toLocaleString('en').padStart(14)}${String(r.ratio).padStart(7)}${`${r.syncapGroups}/${r.rosGroups}`.padStart(16)}\n`,
      );
    }
    const rosMet = vsRos.every((r) => Number(r.ratio) >= 1);
    process.stderr.write(`target syncap ≥ ROS C++ for approximate and exact at 4 and 9 cameras: ${rosMet ? 'met' : 'NOT met'}\n`);
  }
}

/** Every policy, next to the baseline loop. */
function policyTable(): void {
  const results: Array<Record<string, unknown>> = [];
  for (const cameras of [4, 16, 64]) {
    const cameraIds = Array.from({ length: cameras }, (_, i) => `cam${i}`);
    const jittered = jitteredFrames(cameras);
    const triggered = triggeredFrames(cameras);
    for (const name of ['barrier', 'window', 'approximate', 'exact', 'hybrid', 'epsilon', 'latest']) {
      const frames = name === 'exact' ? triggered : jittered;
      const base = timeBest(() => baseline(frames));
      const baselineFramesPerSec = (frames.length / base.ns) * 1e9;
      const t = timeBest(() => runPolicy(configFor(name, cameraIds), cameraIds, frames));
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
}

compareWithRos();
policyTable();
