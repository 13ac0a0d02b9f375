import { ConfigError } from '@syncap/core';

export interface CameraSpecOptions {
  readonly id: string;
  readonly width?: number;
  readonly height?: number;
  readonly fps?: number;
  readonly pixelFormat?: string;
  readonly buffers?: number;
}

const SPEC = /^(?<path>\/dev\/[A-Za-z0-9_./-]+)(?::(?<w>\d+)x(?<h>\d+)(?:@(?<fps>\d+(?:\.\d+)?))?(?::(?<fourcc>[A-Z0-9]{4}))?)?$/;

/** Parses `/dev/videoN[:WxH@fps[:FOURCC]]`; the error shows the expected form. */
export function parseCameraSpec(text: string, id: string): { path: string; options: CameraSpecOptions } {
  const m = SPEC.exec(text)?.groups;
  if (!m) throw new ConfigError(`--camera "${text}" is not /dev/videoN[:WxH@fps[:FOURCC]] (e.g. /dev/video0:1280x720@30:YUYV)`);
  return {
    path: m.path!,
    options: {
      id,
      ...(m.w ? { width: Number(m.w), height: Number(m.h) } : {}),
      ...(m.fps ? { fps: Number(m.fps) } : {}),
      ...(m.fourcc ? { pixelFormat: m.fourcc } : {}),
    },
  };
}
