import { ConfigError } from '@syncap/core';

/** A simulated camera with real pixels, as `--camera sim:WxH@fps[:FOURCC]` names it. */
export interface SimCameraSpec {
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  readonly pixelFormat: 'YUYV' | 'GREY' | 'MJPG';
}

const SIM = /^sim(?::(?<w>\d+)x(?<h>\d+)(?:@(?<fps>\d+(?:\.\d+)?))?(?::(?<fourcc>[A-Za-z0-9]{4}))?)?$/;
const FORMATS = ['YUYV', 'GREY', 'MJPG'] as const;

/** Whether a --camera spec names a simulated camera. */
export function isSimCameraSpec(text: string): boolean {
  return text === 'sim' || text.startsWith('sim:');
}

/** Parses `sim[:WxH[@fps][:FOURCC]]` (default 640x360@30:YUYV); FourCC YUYV, GREY or MJPG, any case. */
export function parseSimCameraSpec(text: string, flag = '--camera'): SimCameraSpec {
  const m = SIM.exec(text)?.groups;
  if (!m) throw new ConfigError(`${flag} "${text.slice(0, 80)}" is not sim[:WxH[@fps][:FOURCC]] (e.g. sim:1280x720@30:YUYV or sim:640x480@30:MJPG)`);
  const fourcc = (m.fourcc ?? 'YUYV').toUpperCase();
  if (!(FORMATS as readonly string[]).includes(fourcc)) throw new ConfigError(`${flag} "${text}": simulated cameras give ${FORMATS.join(', ')}, not ${fourcc}`);
  const width = m.w ? Number(m.w) : 640;
  const height = m.h ? Number(m.h) : 360;
  if (width < 2 || height < 2 || width % 2 !== 0 || width > 8192 || height > 8192)
    throw new ConfigError(`${flag} "${text}": the size must be 2x2 to 8192x8192 with an even width`);
  const fps = m.fps ? Number(m.fps) : 30;
  if (!(fps > 0 && fps <= 1000)) throw new ConfigError(`${flag} "${text}": fps must be above 0 and at most 1000`);
  return { width, height, fps, pixelFormat: fourcc as SimCameraSpec['pixelFormat'] };
}
