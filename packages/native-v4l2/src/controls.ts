import { DeviceError } from '@syncap/core';
import type { NativeControl } from './native-binding.js';

/** A control value as users write it: a number, a menu label, a boolean (or "true"/"1"/…). */
export type ControlValue = number | bigint | string | boolean;

/** What a control accepts, for messages and listings: "integer 1..10000 step 1", "menu 0 = Auto, 1 = Manual". */
export function describeAllowed(c: NativeControl): string {
  switch (c.type) {
    case 'boolean':
      return 'boolean: true/false or 1/0';
    case 'button':
      return 'button (no value)';
    case 'menu':
    case 'integer-menu':
      return `menu: ${Object.entries(c.menu ?? {})
        .map(([i, label]) => `${i} = ${label}`)
        .join(', ')}`;
    case 'string':
      return `string of ${c.min}..${c.max} characters`;
    case 'bitmask':
      return `bitmask 0..0x${c.max.toString(16)}`;
    default:
      return `${c.type} ${c.min}..${c.max}${c.step > 1 ? ` step ${c.step}` : ''}`;
  }
}

function fail(id: string, c: NativeControl, value: ControlValue, why: string): never {
  throw new DeviceError(
    'E_CONTROL',
    id,
    `control ${c.name}: ${why} ${JSON.stringify(typeof value === 'bigint' ? String(value) : value)}; allowed: ${describeAllowed(c)}`,
  );
}

const TRUE = new Set(['true', '1', 'on', 'yes']);
const FALSE = new Set(['false', '0', 'off', 'no']);

/**
 * The value to hand to the driver for `value` on control `c` — a menu item by label (any case)
 * or index, a boolean as true/false/1/0, a number within range and step — or a DeviceError
 * ('E_CONTROL') naming camera `id`, the control and what it allows.
 */
export function toControlValue(id: string, c: NativeControl, value: ControlValue): number | bigint | string | undefined {
  if (c.flags.includes('read-only')) fail(id, c, value, 'is read-only, cannot set');
  switch (c.type) {
    case 'button':
      return undefined;
    case 'boolean': {
      const text = String(value).toLowerCase();
      if (TRUE.has(text)) return 1;
      if (FALSE.has(text)) return 0;
      return fail(id, c, value, 'is a boolean, not');
    }
    case 'menu':
    case 'integer-menu': {
      const items = Object.entries(c.menu ?? {});
      const text = String(value).trim();
      const byIndex = items.find(([i]) => i === text);
      if (byIndex) return Number(byIndex[0]);
      const byLabel = typeof value === 'string' ? items.find(([, label]) => String(label).toLowerCase() === text.toLowerCase()) : undefined;
      if (byLabel) return Number(byLabel[0]);
      return fail(id, c, value, 'has no menu item');
    }
    case 'string': {
      const text = String(value);
      if (text.length < c.min || text.length > c.max) fail(id, c, value, 'does not take');
      return text;
    }
    default: {
      const text = String(value).trim();
      if (typeof value === 'boolean' || !/^-?(\d+|0x[0-9a-f]+)$/i.test(text)) return fail(id, c, value, 'takes an integer, not');
      const n = c.type === 'integer64' ? BigInt(text) : Number(text);
      if (n < c.min || n > c.max) fail(id, c, value, 'is out of range:');
      if (c.type === 'integer' && c.step > 1 && (Number(n) - c.min) % c.step !== 0) fail(id, c, value, 'is off its step:');
      return n;
    }
  }
}

/** The control named `name` of `controls`, or a DeviceError listing the names there are. */
export function findControl(id: string, controls: readonly NativeControl[], name: string): NativeControl {
  const c = controls.find((x) => x.name === name);
  if (!c) throw new DeviceError('E_CONTROL', id, `no control named ${JSON.stringify(name)}; it has ${controls.map((x) => x.name).join(', ') || 'no controls'}`);
  return c;
}

/** Control settings checked against a device's controls: [name, raw value] pairs in the order given. Throws on the first wrong one. */
export function resolveControls(
  id: string,
  controls: readonly NativeControl[],
  values: Readonly<Record<string, ControlValue>>,
): Array<readonly [string, number | bigint | string | undefined]> {
  return Object.entries(values).map(([name, value]) => [name, toControlValue(id, findControl(id, controls, name), value)] as const);
}

/**
 * Sets several controls on one device: every name and value is checked first (nothing is
 * set when one is wrong), then they are set in the order given.
 */
export function applyControls(
  id: string,
  device: { listControls(): readonly NativeControl[]; setControl(name: string, value?: number | bigint | string): void },
  values: Readonly<Record<string, ControlValue>>,
): void {
  for (const [name, value] of resolveControls(id, device.listControls(), values)) device.setControl(name, value);
}
