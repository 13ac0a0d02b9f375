import { ConfigError } from '@syncap/core';

export interface CameraSpecOptions {
  readonly id: string;
  readonly width?: number;
  readonly height?: number;
  readonly fps?: number;
  readonly pixelFormat?: string;
  readonly buffers?: number;
}

/**
 * The optional `:WxH[@fps][:FOURCC]` suffix, matched at the end: device names themselves may
 * contain colons (/dev/v4l/by-path/pci-0000:00:14.0-usb-0:1:1.0-video-index0), a suffix never
 * ends one of them.
 */
const SUFFIX = /:(?<w>\d+)x(?<h>\d+)(?:@(?<fps>\d+(?:\.\d+)?))?(?::(?<fourcc>[A-Za-z0-9]{4}))?$/;
const FORM = 'DEVICE[:WxH[@fps][:FOURCC]] where DEVICE is /dev/videoN or a /dev/v4l/by-id/… or /dev/v4l/by-path/… name';

/** Parses `--camera DEVICE[:WxH[@fps][:FOURCC]]` (FourCC in any case); the error shows the expected form. */
export function parseCameraSpec(text: string, id: string): { path: string; options: CameraSpecOptions } {
  const m = SUFFIX.exec(text);
  const path = m ? text.slice(0, m.index) : text;
  if (!/^\/dev\/\S+$/.test(path) || path.endsWith('/')) {
    throw new ConfigError(`--camera "${text.slice(0, 200)}" is not ${FORM} (e.g. /dev/video0:1280x720@30:YUYV)`);
  }
  const g = m?.groups ?? {};
  return {
    path,
    options: {
      id,
      ...(g.w ? { width: Number(g.w), height: Number(g.h) } : {}),
      ...(g.fps ? { fps: Number(g.fps) } : {}),
      ...(g.fourcc ? { pixelFormat: g.fourcc.toUpperCase() } : {}),
    },
  };
}
