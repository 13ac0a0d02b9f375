/**
 * bench/rig-sweep: runs the rig simulator over random rigs (2–8 hosts × 1–8 cameras, 15–60 fps,
 * PTP noise 1–50 µs, ±50 ppm) and prints each trueSkewP99 / floorP99 ratio and the worst.
 * Usage: npx tsx bench/rig-sweep.ts [seed]
 */
const { runRigSimulation } = await import('@syncap/harness');
const { SeededRandom } = await import('@syncap/sim');
const r = new SeededRandom(Number(process.argv[2] ?? 1));
const worst: number[] = [];
const t0 = Date.now();
for (let i = 0; i < 16; i++) {
  const o = {
    hosts: r.int(2, 8),
    cameras: r.int(1, 8),
    fps: [15, 30, 60][r.int(0, 2)]!,
    seed: r.int(0, 1e6),
    durationS: 24,
    ptpNoiseNs: Math.round(Math.exp(r.uniform(Math.log(1000), Math.log(50000)))),
    ppm: r.uniform(0, 50),
    startLatencyJitterNs: r.uniform(0, 2e6),
  };
  const s = await runRigSimulation(o);
  const ratio = s.trueSkewP99Ns / s.floorP99Ns;
  worst.push(ratio);
  console.log(
    JSON.stringify({
      ...o,
      ratio: +ratio.toFixed(3),
      skew: s.trueSkewP99Ns,
      floor: s.floorP99Ns,
      lock: s.lockErrorP99Ns,
      map: s.mappingErrorP99Ns,
      lockT: Math.round(s.lockTimeMs),
      n: s.measuredGroups,
    }),
  );
}
console.log('max ratio', Math.max(...worst).toFixed(3), Date.now() - t0, 'ms');
