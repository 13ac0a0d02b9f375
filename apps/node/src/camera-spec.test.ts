import { describe, expect, it } from 'vitest';
import { parseCameraSpec } from './camera-spec.js';

describe('parseCameraSpec', () => {
  it('reads /dev/videoN with an optional size, rate and FourCC (any case)', () => {
    expect(parseCameraSpec('/dev/video0', 'c')).toEqual({ path: '/dev/video0', options: { id: 'c' } });
    expect(parseCameraSpec('/dev/video2:1280x720@30:yuyv', 'c')).toEqual({
      path: '/dev/video2',
      options: { id: 'c', width: 1280, height: 720, fps: 30, pixelFormat: 'YUYV' },
    });
    expect(parseCameraSpec('/dev/video1:640x480:mjpg', 'c').options).toEqual({ id: 'c', width: 640, height: 480, pixelFormat: 'MJPG' });
    expect(parseCameraSpec('/dev/video1:640x480@29.97', 'c').options).toEqual({ id: 'c', width: 640, height: 480, fps: 29.97 });
  });

  it('takes by-id and by-path names whole, colons and all, with or without a suffix', () => {
    const byPath = '/dev/v4l/by-path/pci-0000:00:14.0-usb-0:1:1.0-video-index0';
    expect(parseCameraSpec(byPath, 'c')).toEqual({ path: byPath, options: { id: 'c' } });
    expect(parseCameraSpec(`${byPath}:1920x1080@60:MJPG`, 'c')).toEqual({
      path: byPath,
      options: { id: 'c', width: 1920, height: 1080, fps: 60, pixelFormat: 'MJPG' },
    });
    const byId = '/dev/v4l/by-id/usb-046d_HD_Pro_Webcam_C920_A1B2C3D4-video-index0';
    expect(parseCameraSpec(`${byId}:640x360@30`, 'c').path).toBe(byId);
  });

  it('refuses what is not a device, showing the form', () => {
    expect(() => parseCameraSpec('video0:640x480', 'c')).toThrow(/is not DEVICE\[:WxH\[@fps\]\[:FOURCC\]\]/);
    expect(() => parseCameraSpec('/dev/:640x480', 'c')).toThrow(/e\.g\. \/dev\/video0:1280x720@30:YUYV/);
    expect(() => parseCameraSpec('/dev/video0 :640x480', 'c')).toThrow(/is not/);
  });
});
