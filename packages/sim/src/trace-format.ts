import { type Frame, FrameFlags, formatInstantNs, ParseError, parseInstantNs } from '@syncap/core';
import { z } from 'zod';

/** Trace format v1 (DESIGN §6): JSON Lines, a header then one frame per line in arrival order. */
export const TRACE_VERSION = 1;

const instantString = z.string().regex(/^-?\d{1,20}$/, 'an instant in ns as a decimal string');

export const traceHeaderSchema = z
  .object({
    syncapTrace: z.literal(TRACE_VERSION),
    cameras: z.array(z.object({ id: z.string().min(1), fps: z.number().positive().optional() }).passthrough()).min(1, 'at least one camera'),
  })
  .passthrough();

export const traceFrameSchema = z
  .object({
    cam: z.string().min(1),
    seq: z.number().int().min(0).max(0xffff_ffff),
    t: instantString,
    arrival: instantString.optional(),
    flags: z.array(z.string()).optional(),
    truth: instantString.optional(),
  })
  .passthrough();

export type TraceHeader = z.infer<typeof traceHeaderSchema>;
export type TraceFrameRecord = z.infer<typeof traceFrameSchema>;

const FLAG_NAMES: Record<string, number> = { error: FrameFlags.ERROR, 'drop-before': FrameFlags.DROP_BEFORE };

function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(line)'}: ${i.message}`).join('; ');
}

function parseJson(text: string, lineNo: number): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ParseError(`trace line ${lineNo}: not JSON (${(error as Error).message})`);
  }
}

/** Parses and validates the header line. Throws ParseError naming line 1. */
export function parseTraceHeader(line: string): TraceHeader {
  const result = traceHeaderSchema.safeParse(parseJson(line, 1));
  if (!result.success) throw new ParseError(`trace line 1: not a syncap trace v${TRACE_VERSION} header: ${describeIssues(result.error)}`);
  const ids = new Set<string>();
  for (const c of result.data.cameras) {
    if (ids.has(c.id)) throw new ParseError(`trace line 1: camera id "${c.id}" appears twice`);
    ids.add(c.id);
  }
  return result.data;
}

/** Parses one frame line into a Frame. Throws ParseError naming the line number. */
export function parseTraceFrame(line: string, lineNo: number, cameraIds: ReadonlySet<string>): Frame {
  const result = traceFrameSchema.safeParse(parseJson(line, lineNo));
  if (!result.success) throw new ParseError(`trace line ${lineNo}: ${describeIssues(result.error)}`);
  const r = result.data;
  if (!cameraIds.has(r.cam)) throw new ParseError(`trace line ${lineNo}: camera "${r.cam}" is not in the header (${[...cameraIds].join(', ')})`);
  let flags: number = FrameFlags.NONE;
  for (const name of r.flags ?? []) {
    const bit = FLAG_NAMES[name];
    if (bit === undefined) throw new ParseError(`trace line ${lineNo}: unknown flag "${name}" (known: ${Object.keys(FLAG_NAMES).join(', ')})`);
    flags |= bit;
  }
  const t = parseInstantNs(r.t);
  return {
    cameraId: r.cam,
    seq: r.seq,
    deviceTimeNs: t,
    rigTimeNs: t,
    flags,
    ...(r.arrival !== undefined ? { arrivalNs: parseInstantNs(r.arrival) } : {}),
    ...(r.truth !== undefined ? { truthNs: parseInstantNs(r.truth) } : {}),
  };
}

/** The header line for a rig. */
export function formatTraceHeader(cameras: ReadonlyArray<{ id: string; fps?: number }>): string {
  return JSON.stringify({ syncapTrace: TRACE_VERSION, cameras: cameras.map((c) => (c.fps === undefined ? { id: c.id } : { id: c.id, fps: c.fps })) });
}

/** One frame line. Fields in a fixed order so identical runs give identical files. */
export function formatTraceFrame(frame: Frame): string {
  const record: Record<string, unknown> = { cam: frame.cameraId, seq: frame.seq, t: formatInstantNs(frame.rigTimeNs) };
  if (frame.arrivalNs !== undefined) record.arrival = formatInstantNs(frame.arrivalNs);
  const flags = Object.entries(FLAG_NAMES)
    .filter(([, bit]) => (frame.flags & bit) !== 0)
    .map(([name]) => name);
  if (flags.length > 0) record.flags = flags;
  if (frame.truthNs !== undefined) record.truth = formatInstantNs(frame.truthNs);
  return JSON.stringify(record);
}
