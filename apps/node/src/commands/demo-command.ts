import { POLICY_NAMES, type PolicyConfig, SyncCaptureManager } from '@syncap/core';
import { SeededRandom, SimCamera, SimScheduler } from '@syncap/sim';
import { Command, Option } from 'commander';
import { nonNegativeInt, positiveInt, positiveNumber, probability } from '../cli-options.js';
import { RealtimePacer } from '../realtime-pacer.js';
import { formatStatusLine } from '../status-line.js';

interface DemoFlags {
  cameras: number;
  fps: number;
  policy: PolicyConfig['name'];
  seed: number;
  jitterNs: number;
  dropRate: number;
  ppm: number;
  durationS?: number;
}

/**
 * A simulated single-host rig at wall-clock speed with a live status line: what
 * `npm start` runs. Cameras drift apart (ppm), jitter and drop frames; the chosen
 * policy groups them and the manager reports what it sees.
 */
export function demoCommand(): Command {
  return new Command('demo')
    .description('run a simulated single-host rig in real time and print live capture stats (Ctrl-C stops)')
    .option('--cameras <n>', 'simulated cameras', positiveInt('--cameras'), 4)
    .option('--fps <fps>', 'frame rate', positiveNumber('--fps'), 30)
    .addOption(new Option('--policy <name>', 'grouping policy').choices([...POLICY_NAMES]).default('hybrid'))
    .option('--seed <n>', 'simulation seed', nonNegativeInt('--seed'), 1)
    .option('--jitter-ns <ns>', 'timestamp jitter (gaussian sd)', nonNegativeInt('--jitter-ns'), 200_000)
    .option('--drop-rate <p>', 'probability a frame is lost', probability('--drop-rate'), 0.01)
    .option('--ppm <ppm>', 'oscillator error spread across cameras (± ppm)', positiveNumber('--ppm'), 500)
    .option('--duration-s <s>', 'stop after this many seconds (default: until Ctrl-C)', positiveNumber('--duration-s'))
    .action(async (flags: DemoFlags) => {
      const scheduler = new SimScheduler(0n);
      const random = new SeededRandom(flags.seed);
      const cameras = Array.from({ length: flags.cameras }, (_, i) => {
        // Spread oscillator errors so the rig drifts apart and the hybrid has to re-lock.
        const ppm = flags.cameras > 1 ? -flags.ppm + (2 * flags.ppm * i) / (flags.cameras - 1) : 0;
        return new SimCamera(scheduler, random.fork(`cam${i}`), { id: `cam${i}`, fps: flags.fps, ppm, jitterNs: flags.jitterNs, dropRate: flags.dropRate });
      });
      const manager = new SyncCaptureManager({ policy: { name: flags.policy } as PolicyConfig, clock: scheduler.clock, timers: scheduler.timers });
      for (const c of cameras) manager.addCamera(c, { fps: flags.fps });
      manager.onEvent((e) => {
        if (e.type === 'policy-switch') log(`policy: ${e.event.from} → ${e.event.to} (${e.event.reason})`);
        if (e.type === 'relocked') log(`re-locked: cameras restarted together at ${e.atNs} ns`);
      });
      const tty = process.stdout.isTTY === true;
      const log = (line: string) => process.stdout.write(tty ? `\r\x1b[2K${line}\n` : `${JSON.stringify({ event: line })}\n`);

      const pacer = new RealtimePacer(scheduler);
      await manager.start();
      pacer.start();
      process.stdout.write(`syncap demo: ${flags.cameras} simulated cameras at ${flags.fps} fps, policy ${flags.policy}. Ctrl-C stops.\n`);

      // The consumer: takes groups as an application would, and releases them.
      const consume = (async () => {
        for await (const group of manager) group.release();
      })();
      const status = setInterval(() => {
        const s = manager.stats();
        process.stdout.write(tty ? `\r\x1b[2K${formatStatusLine(s)}` : `${JSON.stringify(s)}\n`);
      }, 1000);

      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
        if (flags.durationS !== undefined) setTimeout(resolve, flags.durationS * 1000);
      });
      clearInterval(status);
      pacer.stop();
      await manager.stop();
      await consume;
      const s = manager.stats();
      process.stdout.write(`${tty ? '\n' : ''}${JSON.stringify({ final: true, ...s })}\n`);
    });
}
