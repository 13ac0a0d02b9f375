import { ConfigError } from '@syncap/core';
import type { ControlValue, V4l2Control } from '@syncap/native-v4l2';
import { Command } from 'commander';

const TYPE_NAMES: Readonly<Record<string, string>> = {
  integer: 'int',
  boolean: 'bool',
  menu: 'menu',
  'integer-menu': 'intmenu',
  button: 'button',
  integer64: 'int64',
  string: 'str',
  bitmask: 'bitmask',
};

/** One control as `v4l2-ctl --list-ctrls-menus` prints it: name, id, type, range, default, value, flags, then menu items. */
export function formatControl(c: V4l2Control): string {
  const hex = `0x${c.id.toString(16).padStart(8, '0')}`;
  const head = `${c.name.padStart(32)} ${hex} (${TYPE_NAMES[c.type] ?? c.type})`.padEnd(52);
  const parts: string[] = [];
  if (c.type === 'string') parts.push(`min=${c.min} max=${c.max} step=${c.step}`);
  else if (c.type !== 'button')
    parts.push(`min=${c.min} max=${c.max}${c.type === 'menu' || c.type === 'integer-menu' ? '' : ` step=${c.step}`} default=${c.default}`);
  if (c.value !== undefined) {
    const label = c.menu?.[String(c.value)];
    parts.push(`value=${typeof c.value === 'string' ? JSON.stringify(c.value) : String(c.value)}${label !== undefined ? ` (${label})` : ''}`);
  }
  if (c.flags.length > 0) parts.push(`flags=${c.flags.join(',')}`);
  const menu = Object.entries(c.menu ?? {}).map(([i, label]) => `${''.padStart(36)}${i}: ${label}`);
  return [`${head}: ${parts.join(' ')}`, ...menu].join('\n');
}

/** `--set name=value` pairs as a map; the value is taken as written (the device's control decides what it means). */
export function parseControlSettings(pairs: readonly string[]): Record<string, ControlValue> {
  const out: Record<string, ControlValue> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    const name = (eq < 0 ? pair : pair.slice(0, eq)).trim();
    if (!/^[a-z0-9_]+$/.test(name))
      throw new ConfigError(`--set "${pair.slice(0, 200)}" is not name=value (a control name as \`syncap-node controls <device>\` lists it)`);
    out[name] = eq < 0 ? '' : pair.slice(eq + 1);
  }
  return out;
}

/** `syncap-node controls <device>`: what `v4l2-ctl --list-ctrls-menus` shows; `--set` sets controls by name. */
export function controlsCommand(): Command {
  return new Command('controls')
    .description('list the controls of a V4L2 device (type, range, default, current value, menu items), or set them with --set')
    .argument('<device>', '/dev/videoN or a /dev/v4l/by-id/… or /dev/v4l/by-path/… name')
    .option('--set <name=value...>', 'set controls: numbers, menu items by label or index, booleans as true/false/1/0')
    .option('--json', 'print JSON')
    .action(async (device: string, flags: { set?: string[]; json?: boolean }) => {
      const native = await import('@syncap/native-v4l2');
      if (flags.set) native.setControls(device, parseControlSettings(flags.set));
      const controls = native.listControls(device);
      const shown = flags.set ? controls.filter((c) => flags.set!.some((p) => p.split('=')[0]!.trim() === c.name)) : controls;
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(shown, (_, v) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`);
        return;
      }
      if (shown.length === 0) {
        process.stdout.write(`${device} has no controls\n`);
        return;
      }
      for (const c of shown) process.stdout.write(`${formatControl(c)}\n`);
    });
}
