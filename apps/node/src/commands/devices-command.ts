import type { DeviceDescription, DeviceSummary } from '@syncap/native-v4l2';
import { Command } from 'commander';

/** `syncap-node devices`: what v4l2-ctl --list-devices and --list-formats-ext show, compressed formats marked. */
export function devicesCommand(): Command {
  return new Command('devices')
    .description('list V4L2 devices with their stable names, formats (compressed ones marked), sizes and frame rates')
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }) => {
      const native = await import('@syncap/native-v4l2');
      const devices = native.listDevices();
      const described: Array<DeviceSummary & Partial<DeviceDescription>> = devices.map((d) =>
        d.canCapture ? { ...d, ...safeDescribe(native.describe, d.path) } : d,
      );
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(described, (_, v) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`);
        return;
      }
      if (described.length === 0) {
        process.stdout.write('no V4L2 video devices on this machine (/dev/video* is empty)\n');
        return;
      }
      for (const d of described) {
        process.stdout.write(`${d.path}  ${d.card ?? ''} (${d.driver ?? '?'}, ${d.bus ?? '?'})${d.error ? `  cannot open: ${d.error}` : ''}\n`);
        for (const alias of d.aliases) process.stdout.write(`  also ${alias}\n`);
        if (d.current) {
          const fps = d.current.fps ? `@${+d.current.fps.toFixed(3)}` : '';
          process.stdout.write(`  current: ${d.current.pixelFormat} ${d.current.width}x${d.current.height}${fps}\n`);
        }
        for (const f of d.formats ?? []) {
          process.stdout.write(`  ${f.pixelFormat} (${f.description}${f.compressed ? ', compressed' : ''})\n`);
          for (const s of f.sizes) {
            const size = s.width !== undefined ? `${s.width}x${s.height}` : `${s.minWidth}-${s.maxWidth}x${s.minHeight}-${s.maxHeight}`;
            process.stdout.write(`    ${size}: ${s.fps.map((x) => `${+x.toFixed(3)}`).join(', ')} fps\n`);
          }
        }
      }
    });
}

function safeDescribe(describe: (p: string) => DeviceDescription, path: string): Partial<DeviceDescription> {
  try {
    return describe(path);
  } catch (error) {
    return { error: (error as Error).message };
  }
}
