/**
 * bench/ros-peer: ROS 1 message_filters' own C++ (Debian's libmessage-filters-dev) as a
 * peer for syncap's matchers. Builds bench/ros-message-filters-peer.cpp with g++ into a
 * cache directory (keyed by the source's hash; never committed), hands it frames in a
 * compact binary file and reads back its timing and, on request, its groups.
 * Used by bench/core-matcher.ts and by the differential test against ROS.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const SOURCE = join(here, 'ros-message-filters-peer.cpp');
const CACHE = join(here, '..', 'node_modules', '.cache', 'syncap-ros-peer');
const HEADER = '/usr/include/message_filters/sync_policies/approximate_time.h';
const LIBS = ['-lmessage_filters', '-lroscpp', '-lrostime', '-lrosconsole', '-lboost_system'];

/** What the peer matches: frames by camera position (0..cameras−1) and time, in arrival order. */
export interface RosPeerInput {
  readonly policy: 'approximate' | 'exact';
  /** 2..9 (ROS's Synchronizer takes at most 9 inputs). */
  readonly cameras: number;
  readonly queueSize: number;
  /** ApproximateTime only. Default 0.1 (ROS's). */
  readonly agePenalty?: number;
  /** ApproximateTime only. Default unbounded. */
  readonly maxIntervalNs?: number;
  /** ApproximateTime only: inter-message lower bound per camera, ns. Default 0. */
  readonly lowerBoundNs?: readonly number[];
  readonly cameraOf: Uint8Array;
  readonly timeNs: BigInt64Array;
  /** Timed runs; the fastest counts. Default 1. */
  readonly repeats?: number;
}

export interface RosPeerGroup {
  /** Index of the frame whose arrival published the group. */
  readonly at: number;
  /** The members' frame indices (into the input), in camera order. */
  readonly members: number[];
}

export interface RosPeerResult {
  /** Fastest run, ns: the add<i>() calls only. */
  readonly bestNs: number;
  readonly groups: number;
  /** With `groups: true`: each group, in emission order. */
  readonly emitted?: RosPeerGroup[];
}

/** Why the peer cannot be built here, or undefined when it can. */
export function rosPeerUnavailable(): string | undefined {
  if (!existsSync(HEADER)) return `ROS message_filters headers are missing (${HEADER}): apt-get install libmessage-filters-dev libroscpp-dev`;
  try {
    execFileSync('g++', ['--version'], { stdio: 'ignore' });
  } catch {
    return 'g++ is not installed';
  }
  return undefined;
}

/** Builds the peer once per source version; returns the binary's path. */
export function buildRosPeer(): string {
  const reason = rosPeerUnavailable();
  if (reason) throw new Error(`cannot build the ROS peer: ${reason}`);
  const hash = createHash('sha256').update(readFileSync(SOURCE)).update(LIBS.join(' ')).digest('hex').slice(0, 16);
  const binary = join(CACHE, `ros-message-filters-peer-${hash}`);
  if (existsSync(binary)) return binary;
  mkdirSync(CACHE, { recursive: true });
  const partial = `${binary}.${process.pid}.tmp`;
  execFileSync('g++', ['-O2', '-std=c++17', '-w', '-o', partial, SOURCE, ...LIBS], { stdio: ['ignore', 'ignore', 'inherit'] });
  renameSync(partial, binary);
  return binary;
}

function encode(input: RosPeerInput): Buffer {
  const n = input.cameraOf.length;
  if (input.timeNs.length !== n) throw new Error('cameraOf and timeNs differ in length');
  const camBytes = Math.ceil(n / 8) * 8;
  const size = 8 + 4 * 4 + 8 + 8 + 8 * input.cameras + 4 + 4 + camBytes + 8 * n;
  const buf = Buffer.alloc(size);
  let o = buf.write('SYNCAPRP', 0, 'latin1');
  o = buf.writeUInt32LE(1, o);
  o = buf.writeUInt32LE(input.policy === 'approximate' ? 0 : 1, o);
  o = buf.writeUInt32LE(input.cameras, o);
  o = buf.writeUInt32LE(input.queueSize, o);
  o = buf.writeDoubleLE(input.agePenalty ?? 0.1, o);
  o = buf.writeBigInt64LE(input.maxIntervalNs === undefined || !Number.isFinite(input.maxIntervalNs) ? -1n : BigInt(input.maxIntervalNs), o);
  for (let c = 0; c < input.cameras; c++) o = buf.writeBigInt64LE(BigInt(input.lowerBoundNs?.[c] ?? 0), o);
  o = buf.writeUInt32LE(input.repeats ?? 1, o);
  o = buf.writeUInt32LE(n, o);
  buf.set(input.cameraOf, o);
  o += camBytes;
  Buffer.from(input.timeNs.buffer, input.timeNs.byteOffset, 8 * n).copy(buf, o);
  return buf;
}

/** Runs ROS's Synchronizer on the frames. */
export function runRosPeer(input: RosPeerInput, options: { groups?: boolean } = {}): RosPeerResult {
  const binary = buildRosPeer();
  const file = join(tmpdir(), `syncap-ros-peer-${process.pid}-${Math.floor(Math.random() * 1e9)}.bin`);
  writeFileSync(file, encode(input));
  try {
    const stdout = execFileSync(binary, options.groups ? [file, '--groups'] : [file], { encoding: 'utf8', maxBuffer: 1 << 30 });
    const lines = stdout.trimEnd().split('\n');
    const summary = JSON.parse(lines.pop()!) as { bestNs: number; groups: number };
    if (!options.groups) return summary;
    const emitted = lines
      .filter((l) => l !== '')
      .map((l) => {
        const [at, ...members] = l.split(' ').map(Number);
        return { at: at!, members };
      });
    return { ...summary, emitted };
  } finally {
    rmSync(file, { force: true });
  }
}
