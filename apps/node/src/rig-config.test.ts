import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deviceOptionsOf, loadRigConfig, parseRigConfig } from './rig-config.js';

const camera = (extra: string) => `cameras:\n  - id: left\n    device: /dev/v4l/by-id/usb-Cam_1234-video-index0\n${extra}`;

describe('rig config', () => {
  it('per-camera controls, delivery, priority, cpu and exposure reach the device options', () => {
    const config = parseRigConfig(
      camera(
        [
          '    format: mjpg',
          '    controls:',
          '      auto_exposure: Manual Mode',
          '      exposure_time_absolute: 100',
          '      white_balance_automatic: false',
          '    delivery: thread',
          '    priority: 50',
          '    cpu: 1',
          '    exposure: { readoutNs: 16000000, offsetNs: -250000 }',
        ].join('\n'),
      ),
    );
    expect(deviceOptionsOf(config.cameras[0]!)).toMatchObject({
      id: 'left',
      pixelFormat: 'MJPG',
      controls: { auto_exposure: 'Manual Mode', exposure_time_absolute: 100, white_balance_automatic: false },
      delivery: 'thread',
      priority: 50,
      cpu: 1,
      exposure: { readoutNs: 16_000_000, offsetNs: -250_000 },
    });
  });

  it('names the camera key and what is allowed when a device option is wrong', () => {
    expect(() => parseRigConfig(camera('    priority: 120\n'))).toThrow(/cameras\[0\]\.priority.*99/s);
    expect(() => parseRigConfig(camera('    delivery: fast\n'))).toThrow(/cameras\[0\]\.delivery.*event-loop.*thread/s);
    expect(() => parseRigConfig(camera('    delivery: event-loop\n    cpu: 0\n'))).toThrow(/priority and cpu apply to a capture thread/);
    expect(() => parseRigConfig(camera('    coalesceMs: 2000\n'))).toThrow(/cameras\[0\]\.coalesceMs.*1000/s);
    expect(() => parseRigConfig(camera('    coalesceMs: sometimes\n'))).toThrow(/cameras\[0\]\.coalesceMs.*auto/s);
    expect(deviceOptionsOf(parseRigConfig(camera('    coalesceMs: auto\n')).cameras[0]!)).toMatchObject({ coalesceMs: 'auto' });
    expect(() => parseRigConfig(camera('    delivery: thread\n    coalesceMs: 33\n'))).toThrow(/coalesceMs applies to event-loop delivery/);
    expect(deviceOptionsOf(parseRigConfig(camera('    coalesceMs: 33\n')).cameras[0]!)).toMatchObject({ coalesceMs: 33 });
    expect(() => parseRigConfig(camera('    controls: { Exposure Time: 3 }\n'))).toThrow(/controls.Exposure Time: not a control name/);
    expect(() => parseRigConfig(camera('    exposure: { readout: 3 }\n'))).toThrow(/exposure.*readout/s);
    expect(() => parseRigConfig('cameras:\n  - id: s\n    simulate: true\n    controls: { gain: 1 }\n')).toThrow(
      /apply to devices, not to simulate: true cameras/,
    );
  });

  it('token_file is read relative to the config, and may not sit beside token', () => {
    const dir = mkdtempSync(join(tmpdir(), 'syncap-rig-'));
    writeFileSync(join(dir, 'rig.yaml'), `${camera('')}token_file: secret/token\n`);
    const config = loadRigConfig(join(dir, 'rig.yaml'));
    expect(config.token_file).toBe(join(dir, 'secret/token'));
    expect(() => parseRigConfig(`${camera('')}token: a\ntoken_file: b\n`)).toThrow(/token or token_file, not both/);
  });
});
