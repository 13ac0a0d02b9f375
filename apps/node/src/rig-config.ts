import { readFileSync } from 'node:fs';
import { ConfigError, type PolicyConfig, policyConfigSchema } from '@syncap/core';
import { describeIssues } from '@syncap/core/internal';
import { parseDocument } from 'yaml';
import { z } from 'zod';

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
  })
  .strict()
  .refine((c) => (c.device === undefined) !== (c.simulate !== true), { message: 'give either device: /dev/videoN or simulate: true' });

export const rigConfigSchema = z
  .object({
    cameras: z.array(cameraSchema).min(1, 'at least one camera'),
    policy: policyConfigSchema.default({ name: 'hybrid' }),
    server: z
      .string()
      .regex(/^wss?:\/\/\S+$/, 'a URL such as ws://host:8888')
      .optional(),
    token: z.string().min(1).optional(),
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
  .superRefine((c, ctx) => {
    const seen = new Set<string>();
    c.cameras.forEach((cam, i) => {
      if (seen.has(cam.id)) ctx.addIssue({ code: 'custom', path: ['cameras', i, 'id'], message: `camera id "${cam.id}" appears twice` });
      seen.add(cam.id);
    });
  });

/** A validated rig config (examples/rig.yaml documents every key). */
export type RigConfig = Omit<z.infer<typeof rigConfigSchema>, 'policy'> & { readonly policy: PolicyConfig };

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
  return parseRigConfig(text, path);
}
