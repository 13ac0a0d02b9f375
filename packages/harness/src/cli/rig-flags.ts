import { type Command, InvalidArgumentError, Option } from 'commander';
import { formatRigPixels, parseRigPixels, RIG_DEFAULTS, type RigPixels, type RigSpec } from '../rig-spec.js';
import { nonNegativeInt, positiveInt, positiveNumber, probability } from './flag-parsers.js';

/** The rig-spec keys a command can take as flags. */
export type RigFlag = Exclude<keyof RigSpec, 'startLatencyNs'>;

/** The flags that shape every simulated rig of several hosts (demo, sim); commands add their own. */
export const MULTI_HOST_RIG_FLAGS: readonly RigFlag[] = [
  'hosts',
  'cameras',
  'fps',
  'seed',
  'ptpNoiseNs',
  'ppm',
  'jitterNs',
  'dropRate',
  'phaseToleranceNs',
  'phaseLock',
];

interface FlagDefinition {
  readonly option: (defaultValue: unknown) => Option;
}

const FLAGS: Record<RigFlag, FlagDefinition> = {
  hosts: { option: (d) => new Option('--hosts <n>', 'hosts (nodes)').argParser(positiveInt('--hosts')).default(d) },
  cameras: { option: (d) => new Option('--cameras <n>', 'cameras per host').argParser(positiveInt('--cameras')).default(d) },
  fps: { option: (d) => new Option('--fps <fps>', 'frame rate').argParser(positiveNumber('--fps', 1000)).default(d) },
  seed: { option: (d) => new Option('--seed <n>', 'seed: the same seed gives the same run').argParser(nonNegativeInt('--seed')).default(d) },
  ppm: {
    option: (d) => new Option('--ppm <ppm>', 'oscillator errors (host clocks and camera sensors) within ± this').argParser(positiveNumber('--ppm')).default(d),
  },
  ptpNoiseNs: {
    option: (d) => new Option('--ptp-noise-ns <ns>', 'PTP offset measurement noise, rms').argParser(nonNegativeInt('--ptp-noise-ns')).default(d),
  },
  timestamping: { option: (d) => new Option('--timestamping <kind>', 'PTP timestamping (servo gains)').choices(['software', 'hardware']).default(d) },
  jitterNs: { option: (d) => new Option('--jitter-ns <ns>', 'camera timestamp jitter (gaussian sd)').argParser(nonNegativeInt('--jitter-ns')).default(d) },
  dropRate: { option: (d) => new Option('--drop-rate <p>', 'probability a frame is lost').argParser(probability('--drop-rate')).default(d) },
  netLoss: {
    option: (d) =>
      new Option('--net-loss <p>', 'sync-channel packet loss (costs TCP retransmissions, 200 ms each)').argParser(probability('--net-loss')).default(d),
  },
  phaseLock: { option: () => new Option('--no-phase-lock', 'do not lock camera phase to the rig grid') },
  phaseToleranceNs: {
    option: (d) => new Option('--phase-tolerance-ns <ns>', 'phase-lock tolerance').argParser(positiveInt('--phase-tolerance-ns')).default(d),
  },
  mixedExposure: {
    option: () => new Option('--mixed-exposure', 'cameras differ in exposure, readout and timestamp source (groups line up by mid-exposure)'),
  },
  pixels: {
    option: (d) =>
      new Option('--pixels <WxH:FOURCC>', 'simulated cameras give real images: a moving test pattern, YUYV, GREY or MJPG (e.g. 320x180:MJPG)')
        .argParser((v) => {
          try {
            return parseRigPixels(v);
          } catch (error) {
            throw new InvalidArgumentError((error as Error).message);
          }
        })
        .default(d, d ? formatRigPixels(d as RigPixels) : undefined),
  },
  startLatencyJitterNs: {
    option: (d) =>
      new Option('--start-latency-jitter-ns <ns>', 'camera start latency jitter (uniform ±)').argParser(nonNegativeInt('--start-latency-jitter-ns')).default(d),
  },
};

/**
 * Adds the rig flags `keys` to a command, with the shared defaults: every command that
 * builds a simulated rig takes the same flags, spelled, checked and defaulted alike. A
 * command may default some otherwise (`defaults`: the demo's cameras have pixels).
 */
export function addRigFlags(command: Command, keys: readonly RigFlag[], defaults: Partial<RigSpec> = {}): Command {
  for (const key of keys) {
    const d = key in defaults ? defaults[key] : RIG_DEFAULTS[key];
    const option = FLAGS[key].option(d);
    command.addOption(d === undefined ? option.default(undefined) : option);
  }
  return command;
}

/** The rig spec fields among parsed flags (commander's camelCase keys match RigSpec's). */
export function rigSpecFromFlags(flags: Record<string, unknown>, keys: readonly RigFlag[]): Partial<RigSpec> {
  return Object.fromEntries(keys.filter((k) => flags[k] !== undefined).map((k) => [k, flags[k]])) as Partial<RigSpec>;
}
