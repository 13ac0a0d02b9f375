import { SyncapError } from '@syncap/core';
import { z } from 'zod';

/**
 * The sync protocol, version 1: JSON text messages over a WebSocket (or any
 * message transport). Nodes send group metadata; the only pixels are the dashboard's
 * thumbnails, as binary messages (thumbnail-message.ts), to a server whose welcome
 * says it takes them. Instants are decimal strings of ns; durations are numbers of ns.
 */
export const PROTOCOL_VERSION = 1;
/** Largest message either side accepts, bytes. Bigger ones are rejected and the connection closed. */
export const MAX_MESSAGE_BYTES = 1024 * 1024;
/**
 * Largest hello, bytes (256 cameras with the longest ids and notes take 46 KiB of it): a peer that
 * has not authenticated cannot make the server parse a megabyte.
 */
export const MAX_HELLO_BYTES = 64 * 1024;
/** Groups in one `groups` batch at most. */
export const MAX_GROUPS_PER_BATCH = 1000;
/** Highest camera rate a node may announce, frames/s. */
export const MAX_CAMERA_FPS = 10_000;
/** Longest piece of peer input repeated anywhere (an error reply, a log line, the dashboard's event feed), characters. */
export const MAX_ECHO_CHARS = 200;

/**
 * Cuts text that came from a peer to `max` characters, saying how long it was: whatever
 * repeats client input (errors, logs, feeds) repeats at most this much (DESIGN §9).
 */
export function clip(text: string, max = MAX_ECHO_CHARS): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} characters)`;
}

const instant = z.string().regex(/^-?\d{1,20}$/, 'an instant in ns as a decimal string');
const id = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9._:-]+$/, 'letters, digits and . _ : - only');
const duration = z.number().finite();

/** Longest `noPreview` note of a camera, characters. */
export const MAX_NO_PREVIEW_CHARS = 64;

export const cameraAnnounceSchema = z
  .object({
    id,
    fps: z.number().positive().max(MAX_CAMERA_FPS),
    /** Why this camera sends no thumbnails (an H264 camera, timing only, thumbnails off), for the dashboard. */
    noPreview: z.string().min(1).max(MAX_NO_PREVIEW_CHARS).optional(),
  })
  .strict();
export type CameraAnnounce = z.infer<typeof cameraAnnounceSchema>;

export const ptpStateSchema = z.enum(['absent', 'listening', 'uncalibrated', 'slave', 'master', 'faulty', 'unknown']);
export type PtpState = z.infer<typeof ptpStateSchema>;

const groupFrame = z.object({ seq: z.number().int().min(0).max(0xffff_ffff), t: instant }).strict();
export const groupReportSchema = z
  .object({
    id: z.number().int().min(0),
    t: instant,
    spanNs: duration.min(0),
    frames: z.record(id, groupFrame),
  })
  .strict();
export type GroupReport = z.infer<typeof groupReportSchema>;

export const helloSchema = z
  .object({
    type: z.literal('hello'),
    v: z.literal(PROTOCOL_VERSION),
    nodeId: id,
    token: z.string().max(512),
    cameras: z.array(cameraAnnounceSchema).min(1).max(256),
    capabilities: z.array(z.string().max(64)).max(32).default([]),
    /**
     * Names one run of the node process (random per run). Group report ids count from 0 in
     * each session, so a server that sees a new session forgets which ids it had (a restarted
     * node); a hello without one is always taken for a new run. A second connection for a
     * connected node id is only accepted with the same session (the node's own reconnect).
     */
    session: z.string().min(1).max(64).optional(),
  })
  .strict();

export const groupsSchema = z
  .object({
    type: z.literal('groups'),
    /** Batch sequence number: strictly increasing per connection. */
    batch: z.number().int().min(0),
    groups: z.array(groupReportSchema).max(MAX_GROUPS_PER_BATCH),
    /** Groups this node dropped from its backlog (bounded while disconnected), cumulative. */
    backlogDropped: z.number().int().min(0).default(0),
  })
  .strict();

export const ptpStatusSchema = z
  .object({
    type: z.literal('ptp'),
    state: ptpStateSchema,
    offsetNs: duration.optional(),
    rmsNs: duration.optional(),
    freqPpb: duration.optional(),
    pathDelayNs: duration.optional(),
    /** The node's own NTP-style measurement of the server's clock over this channel. */
    channelOffsetNs: duration.optional(),
    channelErrorNs: duration.min(0).optional(),
  })
  .strict();

export const dropsSchema = z.object({ type: z.literal('drops'), byCamera: z.record(id, z.number().int().min(0)) }).strict();
/** Whether the node phase-locks its cameras to the rig grid, and how many are locked now (the reference node must be). */
export const phaseLockSchema = z
  .object({ type: z.literal('phase-lock'), enabled: z.boolean(), locked: z.number().int().min(0).max(256), cameras: z.number().int().min(0).max(256) })
  .strict();
export const pingSchema = z.object({ type: z.literal('ping'), id: z.number().int().min(0), t1: instant }).strict();

export const nodeMessageSchema = z.discriminatedUnion('type', [helloSchema, groupsSchema, ptpStatusSchema, dropsSchema, phaseLockSchema, pingSchema]);
export type NodeMessage = z.infer<typeof nodeMessageSchema>;
export type HelloMessage = z.infer<typeof helloSchema>;
export type GroupsMessage = z.infer<typeof groupsSchema>;
export type PhaseLockMessage = z.infer<typeof phaseLockSchema>;

export const adjustSchema = z.discriminatedUnion('kind', [
  z.object({ type: z.literal('adjust'), kind: z.literal('shift-phase'), offsetNs: duration }).strict(),
  z.object({ type: z.literal('adjust'), kind: z.literal('relock'), atNs: instant }).strict(),
  z.object({ type: z.literal('adjust'), kind: z.literal('delivery-delay'), delayNs: duration.min(0) }).strict(),
]);
export type AdjustCommand = z.infer<typeof adjustSchema>;

export const serverMessageSchema = z.union([
  z.object({ type: z.literal('welcome'), v: z.literal(PROTOCOL_VERSION), nodeId: id, config: z.record(z.string(), z.unknown()).default({}) }).strict(),
  z.object({ type: z.literal('pong'), id: z.number().int().min(0), t1: instant, t2: instant, t3: instant }).strict(),
  z.object({ type: z.literal('error'), code: z.string(), message: z.string() }).strict(),
  /** The server has processed every batch up to and including `batch`: the node may forget them. */
  z.object({ type: z.literal('ack'), batch: z.number().int().min(0) }).strict(),
  adjustSchema,
]);
export type ServerMessage = z.infer<typeof serverMessageSchema>;

/** A message that failed validation or broke the protocol; `closeCode` says how the connection ends. */
export class ProtocolError extends SyncapError {
  constructor(
    message: string,
    readonly closeCode: number,
  ) {
    super(closeCode === CloseCodes.unauthorized ? 'E_UNAUTHORIZED' : 'E_PROTOCOL', message);
  }
}

/** WebSocket close codes the server uses (4000–4999 are application codes). */
export const CloseCodes = {
  /** The peer left on purpose (a node that stops): it has departed. */
  normal: 1000,
  shutdown: 1001,
  /** A frame the WebSocket layer refused (bad opcode, unmasked, …). */
  badFrame: 1002,
  /** Text that is not UTF-8. */
  badText: 1007,
  tooLarge: 1009,
  /** Too many connections waiting for their hello: try again later. */
  busy: 1013,
  malformed: 4400,
  unauthorized: 4401,
  protocol: 4402,
  /** No hello within the deadline, or nothing at all for the idle timeout. */
  timeout: 4408,
  replaced: 4409,
  /** The node id is connected, and this connection is not its reconnect. */
  nodeIdInUse: 4410,
  /** The server has as many nodes as it takes. */
  full: 4429,
} as const;

function issues(error: z.ZodError): string {
  // Paths hold the peer's keys and messages quote them (unrecognized keys): both are cut.
  return clip(
    error.issues
      .slice(0, 3)
      .map((i) => `${i.path.length ? clip(i.path.map(String).join('.'), 60) : '(message)'}: ${clip(i.message, 100)}`)
      .join('; '),
  );
}

/** Parses one message from text, enforcing the size limit and the schema. */
export function decodeMessage<T>(text: string, schema: z.ZodType<T>, maxBytes = MAX_MESSAGE_BYTES): T {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > maxBytes) throw new ProtocolError(`message of ${bytes} bytes exceeds the ${maxBytes}-byte limit`, CloseCodes.tooLarge);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ProtocolError(`message is not JSON: ${clip((error as Error).message, 100)}`, CloseCodes.malformed);
  }
  const result = schema.safeParse(raw);
  if (!result.success) throw new ProtocolError(`invalid message: ${issues(result.error)}`, CloseCodes.malformed);
  return result.data;
}

export function encodeMessage(message: NodeMessage | ServerMessage): string {
  return JSON.stringify(message);
}
