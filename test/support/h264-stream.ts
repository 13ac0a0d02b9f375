import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Why real H264 cannot be made here (no ffmpeg with libx264), or null. */
export function h264UnavailableReason(): string | null {
  const r = spawnSync('ffmpeg', ['-hide_banner', '-encoders'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return 'ffmpeg is not installed (apt-get install ffmpeg)';
  return /\blibx264\b/.test(r.stdout) ? null : 'ffmpeg has no libx264 encoder';
}

/** ffmpeg's arguments for x264 as a camera's encoder: Annex B, no B-frames, an AUD at each frame, SPS/PPS at each keyframe. */
export function x264CameraArgs(keyint: number): string[] {
  return [
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-tune',
    'zerolatency',
    '-pix_fmt',
    'yuv420p',
    '-bf',
    '0',
    '-g',
    String(keyint),
    '-x264-params',
    'aud=1:repeat-headers=1',
  ];
}

/**
 * `frames` access units of real H264 from x264 (ffmpeg's moving test pattern): one frame each,
 * split at the access unit delimiters x264 puts before every frame.
 */
export function encodeH264(options: { width: number; height: number; frames: number; keyint: number }): Uint8Array[] {
  const { width, height, frames, keyint } = options;
  const r = spawnSync(
    'ffmpeg',
    [
      '-hide_banner',
      '-loglevel',
      'error',
      '-f',
      'lavfi',
      '-i',
      `testsrc=size=${width}x${height}:rate=30`,
      '-frames:v',
      String(frames),
      ...x264CameraArgs(keyint),
      '-f',
      'h264',
      '-',
    ],
    { maxBuffer: 64 * 2 ** 20 },
  );
  if (r.status !== 0) throw new Error(`ffmpeg could not encode H264: ${r.stderr.toString()}`);
  return splitAccessUnits(new Uint8Array(r.stdout));
}

/** An Annex B stream cut before each access unit delimiter (NAL type 9). */
function splitAccessUnits(stream: Uint8Array): Uint8Array[] {
  const starts: number[] = [];
  for (let i = 0; i + 4 < stream.byteLength; i++) {
    if (stream[i] === 0 && stream[i + 1] === 0 && stream[i + 2] === 0 && stream[i + 3] === 1 && (stream[i + 4]! & 0x1f) === 9) starts.push(i);
  }
  return starts.map((s, k) => stream.subarray(s, starts[k + 1] ?? stream.byteLength));
}

/** Runs ffmpeg with `args` on an Annex B stream (written to a temporary file as its input); its stdout. */
function ffmpegOnStream(stream: Uint8Array, args: readonly string[], what: string): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'syncap-h264-'));
  try {
    const path = join(dir, 'stream.h264');
    writeFileSync(path, stream);
    const full = ['-hide_banner', '-loglevel', 'error', '-f', 'h264', '-i', path, ...args];
    const r = spawnSync('ffmpeg', full, { maxBuffer: 64 * 2 ** 20 });
    if (r.status !== 0) throw new Error(`ffmpeg could not ${what}: ${r.stderr.toString()}`);
    return r.stdout;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Decodes an Annex B stream with ffmpeg's H264 decoder: each decoded picture's size (bytes, yuv420p) and MD5, in order. */
export function decodeH264(stream: Uint8Array): Array<{ bytes: number; md5: string }> {
  return ffmpegOnStream(stream, ['-f', 'framemd5', '-'], 'decode the stream')
    .toString('utf8')
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      // framemd5: stream, dts, pts, duration, size, md5.
      const fields = l.split(',').map((f) => f.trim());
      return { bytes: Number(fields[4]), md5: fields[5]! };
    });
}

/** Picture `index` of an Annex B stream as ffmpeg decodes it, scaled to width x height: RGB, 3 bytes per pixel. */
export function decodeH264Picture(stream: Uint8Array, index: number, width: number, height: number): Uint8Array {
  const filter = `select=eq(n\\,${index}),scale=${width}:${height}:flags=area`;
  const args = ['-vf', filter, '-frames:v', '1', '-pix_fmt', 'rgb24', '-f', 'rawvideo', '-'];
  return new Uint8Array(ffmpegOnStream(stream, args, `decode picture ${index}`));
}

/** Byte arrays one after another (access units into a stream). */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}
