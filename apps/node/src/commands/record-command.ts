import { type RecordingInfo, readRecordingInfo } from '@syncap/record';
import { Command } from 'commander';

/** `syncap-node record info <dir|file>`: what a recording holds, as `ros2 bag info` says it. */
export function recordCommand(): Command {
  return new Command('record').description('work with recordings (ROS 2 bags)').addCommand(
    new Command('info')
      .description('summarize a recording: duration, start and end, topics with types and counts, frames per camera, frames not recorded, group completeness')
      .argument('<dir|file>', 'a bag directory (with metadata.yaml) or one .mcap file; a killed recording is read to its last whole chunk')
      .option('--json', 'print JSON')
      .action(async (path: string, flags: { json?: boolean }) => {
        const info = await readRecordingInfo(path);
        process.stdout.write(flags.json ? `${JSON.stringify(info, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n` : describe(info));
      }),
  );
}

function describe(info: RecordingInfo): string {
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
  const when = (ns: bigint) =>
    `${new Date(Number(ns / 1_000_000n)).toISOString()} (${ns / 1_000_000_000n}.${(ns % 1_000_000_000n).toString().padStart(9, '0')})`;
  const lines = [
    `Files:             ${info.files.map((f) => `${f.path} (${mib(f.bytes)}${f.indexed ? '' : ', not closed: read to its last whole chunk'})`).join('\n                   ')}`,
    `Bag size:          ${mib(info.files.reduce((n, f) => n + f.bytes, 0))}`,
    'Storage id:        mcap',
    `Duration:          ${(Number(info.endNs - info.startNs) / 1e9).toFixed(3)}s`,
    `Start:             ${when(info.startNs)}`,
    `End:               ${when(info.endNs)}`,
    `Messages:          ${info.messageCount}`,
    `Topic information: ${info.topics.map((t) => `Topic: ${t.name} | Type: ${t.type} | Count: ${t.messageCount} | Serialization Format: cdr`).join('\n                   ')}`,
    `Frames per camera: ${
      Object.entries(info.framesByCamera)
        .map(([c, n]) => `${c} ${n}`)
        .join(', ') || 'none'
    }`,
    `Not recorded:      ${
      Object.entries(info.notRecorded)
        .map(
          ([c, reasons]) =>
            `${c} ${Object.entries(reasons)
              .map(([r, n]) => `${n} (${r})`)
              .join(' ')}`,
        )
        .join(', ') || 'none'
    }`,
    `Groups:            ${info.groups.total} (${info.groups.complete} complete, ${info.groups.incomplete} incomplete)`,
  ];
  return `${lines.join('\n')}\n`;
}
