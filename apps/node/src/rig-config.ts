import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigError, type PolicyConfig, policyConfigSchema } from '@syncap/core';
import { describeIssues } from '@syncap/core/internal';
import { parseDocument } from 'yaml';
import { z } from 'zod';

/** Camera keys that only a V4L2 device has. */
const DEVICE_ONLY_KEYS = ['controls', 'delivery', 'coalesceMs', 'priority', 'cpu', 'exposure'] as const;

/** Control names as V4L2 lists them, lower case with underscores. */
const CONTROL_NAME = /^[a-z0-9_]{1,64}$/;

const id = z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/, 'letters, digits and . _ : - only (at most 64)');

const cameraSchema = z
  .object({
    id,
    device: z
      .string()
      .regex(/^\/dev\/\S+$/, 'a device path such as /dev/video0')
      .optional(),
    simulate: z.boolean().optional(),
    width: z.number().int().positive().optional(),
    height: z.number().int().positive().optional(),
    fps: z.number().positive().max(10_000).default(30),
    /** FourCC, any case (YUYV, MJPG, …); simulated cameras take YUYV, GREY or MJPG and then give real pixels. */
    format: z
      .string()
      .regex(/^[A-Za-z0-9]{3,4} ?$/, 'a FourCC such as YUYV or MJPG')
      .transform((f) => f.trim().toUpperCase())
      .optional(),
    buffers: z.number().int().min(2).max(64).optional(),
    /** V4L2 controls set at open, by name (`syncap-node controls <device>` lists them): numbers, menu labels or indices, booleans. */
    controls: z
      .record(z.string(), z.union([z.number(), z.string(), z.boolean()]))
      .check((ctx) => {
        for (const name of Object.keys(ctx.value))
          if (!CONTROL_NAME.test(name))
            ctx.issues.push({
              code: 'custom',
              input: name,
              path: [name],
              message: 'not a control name: use the names `syncap-node controls <device>` lists (such as exposure_time_absolute)',
            });
      })
      .optional(),
    /** How frames reach JS: event-loop (default) or a capture thread (needed for priority and cpu). */
    delivery: z.enum(['event-loop', 'thread']).optional(),
    /** Event-loop delivery: auto (default: cameras out of phase share wake-ups), N ms (always), or 0 (each frame at once). */
    coalesceMs: z.union([z.literal('auto'), z.number().int().min(0).max(1000)], { error: "'auto' or a whole number of ms from 0 to 1000" }).optional(),
    /** SCHED_FIFO priority of the capture thread. */
    priority: z.number().int().min(1).max(99).optional(),
    /** The CPU the capture thread is pinned to. */
    cpu: z.number().int().min(0).max(1023).optional(),
    /** Mid-exposure timestamps: the sensor's readout time and a calibrated offset, ns. */
    exposure: z
      .object({
        readoutNs: z.number().int().min(0).max(1_000_000_000).optional(),
        offsetNs: z.number().int().min(-1_000_000_000).max(1_000_000_000).optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .refine((c) => (c.device === undefined) !== (c.simulate !== true), { message: 'give either device: /dev/videoN or simulate: true' })
  .refine((c) => !c.simulate || DEVICE_ONLY_KEYS.every((k) => c[k] === undefined), {
    message: `${DEVICE_ONLY_KEYS.join(', ')} apply to devices, not to simulate: true cameras`,
  })
  .refine((c) => c.delivery !== 'event-loop' || (c.priority === undefined && c.cpu === undefined), {
    message: 'priority and cpu apply to a capture thread: use delivery: thread (or leave delivery out)',
  })
  .refine((c) => typeof c.coalesceMs !== 'number' || c.coalesceMs === 0 || (c.delivery !== 'thread' && c.priority === undefined && c.cpu === undefined), {
    message: 'coalesceMs applies to event-loop delivery: drop it, or drop delivery: thread, priority and cpu',
  });

export const rigConfigSchema = z
  .object({
    cameras: z.array(cameraSchema).min(1, 'at least one camera'),
    policy: policyConfigSchema.default({ name: 'hybrid' }),
    server: z
      .string()
      .regex(/^wss?:\/\/\S+$/, 'a URL such as ws://host:8888')
      .optional(),
    token: z.string().min(1).optional(),
    /** A file holding the token (kept out of ps and out of the config); relative to the config's directory. */
    token_file: z.string().min(1).optional(),
    nodeId: id.optional(),
    ptp: z
      .object({
        interface: z.string().regex(/^[A-Za-z0-9_.:-]{1,15}$/, 'an interface name such as eth0'),
        role: z.enum(['master', 'slave']).default('slave'),
        timestamping: z.enum(['software', 'hardware']).default('hardware'),
        transport: z.enum(['l2', 'udp4']).default('l2'),
      })
      .strict()
      .optional(),
    recording: z
      .object({ dir: z.string().min(1) })
      .strict()
      .optional(),
  })
  .strict()
  .refine((c) => c.token === undefined || c.token_file === undefined, { message: 'give token or token_file, not both' })
  .superRefine((c, ctx) => {
    const seen = new Set<string>();
    c.cameras.forEach((cam, i) => {
      if (seen.has(cam.id)) ctx.addIssue({ code: 'custom', path: ['cameras', i, 'id'], message: `camera id "${cam.id}" appears twice` });
      seen.add(cam.id);
    });
  });

/** A validated rig config (examples/rig.yaml documents every key). */
export type RigConfig = Omit<z.infer<typeof rigConfigSchema>, 'policy'> & { readonly policy: PolicyConfig };
/** One camera of a rig config. */
export type RigCameraConfig = RigConfig['cameras'][number];

/** The V4L2 camera options a config camera gives (V4l2CameraOptions without the device path). */
export function deviceOptionsOf(c: RigCameraConfig) {
  return {
    id: c.id,
    width: c.width,
    height: c.height,
    fps: c.fps,
    pixelFormat: c.format,
    buffers: c.buffers,
    controls: c.controls,
    delivery: c.delivery,
    coalesceMs: c.coalesceMs,
    priority: c.priority,
    cpu: c.cpu,
    exposure: c.exposure,
  };
}

/** Parses and validates a rig config; errors name the file, the key and what is allowed. */
export function parseRigConfig(text: string, source = 'rig config'): RigConfig {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const where = e.linePos ? ` (line ${e.linePos[0].line}, column ${e.linePos[0].col})` : '';
    throw new ConfigError(`${source}: not valid YAML${where}: ${e.message.split('\n')[0]}`);
  }
  const result = rigConfigSchema.safeParse(doc.toJS());
  if (!result.success) throw new ConfigError(describeIssues(result.error, source));
  return result.data as RigConfig;
}

export function loadRigConfig(path: string): RigConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(
      `cannot read rig config "${path}": ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`,
    );
  }
  const config = parseRigConfig(text, path);
  // token_file is relative to the config's directory, as a user reading the config expects.
  return config.token_file ? { ...config, token_file: resolve(dirname(path), config.token_file) } : config;
}
