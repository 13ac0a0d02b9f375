import { MessageWriter } from '@foxglove/rosmsg2-serialization';
import { type ClockSample, type FrameGroup, NS_PER_S } from '@syncap/core';
import { type Ros2TypeName, ros2Definitions, ros2SchemaText } from './ros2-schemas.js';

/** A ROS 2 `builtin_interfaces/Time` from an instant in ns (the rig timebase). */
export function rosTime(ns: bigint): { sec: number; nanosec: number } {
  const s = BigInt(NS_PER_S);
  let sec = ns / s;
  let nanosec = ns % s;
  if (nanosec < 0n) {
    sec -= 1n;
    nanosec += s;
  }
  return { sec: Number(sec), nanosec: Number(nanosec) };
}

/** V4L2 FourCC → ROS image encoding (sensor_msgs image_encodings) and bytes per pixel. */
const RAW_ENCODINGS: Readonly<Record<string, { encoding: string; bytesPerPixel: number }>> = {
  YUYV: { encoding: 'yuv422_yuy2', bytesPerPixel: 2 },
  UYVY: { encoding: 'yuv422', bytesPerPixel: 2 },
  RGB3: { encoding: 'rgb8', bytesPerPixel: 3 },
  BGR3: { encoding: 'bgr8', bytesPerPixel: 3 },
  GREY: { encoding: 'mono8', bytesPerPixel: 1 },
  Y16: { encoding: 'mono16', bytesPerPixel: 2 },
  SIM: { encoding: 'mono8', bytesPerPixel: 1 },
};

/** Compressed FourCCs → CompressedImage `format`. */
const COMPRESSED_FORMATS: Readonly<Record<string, string>> = { MJPG: 'jpeg', JPEG: 'jpeg' };

/** Inter-coded FourCCs → CompressedVideo `format` (Annex B bitstreams, one access unit per frame). */
const VIDEO_FORMATS: Readonly<Record<string, string>> = { H264: 'h264' };

/**
 * How a camera's frames are recorded: a raw sensor_msgs/Image, a sensor_msgs/CompressedImage
 * (each frame an image of its own: JPEG), or a foxglove_msgs/CompressedVideo (frames that
 * decode only in sequence from a keyframe: H264), the type Foxglove plays video from.
 */
export type ImageForm =
  | { readonly kind: 'raw'; readonly encoding: string; readonly bytesPerPixel: number }
  | { readonly kind: 'compressed'; readonly format: string }
  | { readonly kind: 'video'; readonly format: string };

/** The form of a pixel format, or undefined for one ROS has no encoding for. */
export function imageFormOf(pixelFormat: string): ImageForm | undefined {
  const fourcc = pixelFormat.toUpperCase();
  const raw = RAW_ENCODINGS[fourcc];
  if (raw) return { kind: 'raw', ...raw };
  const format = COMPRESSED_FORMATS[fourcc];
  if (format) return { kind: 'compressed', format };
  const video = VIDEO_FORMATS[fourcc];
  return video ? { kind: 'video', format: video } : undefined;
}

/** The message type a form is written as. */
export function imageTypeOf(form: ImageForm): Ros2TypeName {
  if (form.kind === 'raw') return 'sensor_msgs/msg/Image';
  return form.kind === 'compressed' ? 'sensor_msgs/msg/CompressedImage' : 'foxglove_msgs/msg/CompressedVideo';
}

const imageWriter = new MessageWriter(ros2Definitions(ros2SchemaText('sensor_msgs/msg/Image')));
const compressedWriter = new MessageWriter(ros2Definitions(ros2SchemaText('sensor_msgs/msg/CompressedImage')));
const videoWriter = new MessageWriter(ros2Definitions(ros2SchemaText('foxglove_msgs/msg/CompressedVideo')));
const groupWriter = new MessageWriter(ros2Definitions(ros2SchemaText('syncap_msgs/msg/FrameGroup')));
const clockWriter = new MessageWriter(ros2Definitions(ros2SchemaText('syncap_msgs/msg/ClockSample')));
const EMPTY = new Uint8Array(0);

/**
 * The CDR bytes of an image message up to its pixels. `data` is the message's last field:
 * the message is written with empty data, then its length word is set, so that the pixels
 * follow it as they are (a second iovec), never copied into the message.
 */
function withData(prefix: Uint8Array, dataLength: number): Uint8Array {
  new DataView(prefix.buffer, prefix.byteOffset, prefix.byteLength).setUint32(prefix.byteLength - 4, dataLength, true);
  return prefix;
}

/** The CDR of sensor_msgs/Image up to its pixels, which follow it in the record. */
export function imagePrefix(
  stamp: bigint,
  frameId: string,
  width: number,
  height: number,
  form: Extract<ImageForm, { kind: 'raw' }>,
  dataLength: number,
): Uint8Array {
  const prefix = imageWriter.writeMessage({
    header: { stamp: rosTime(stamp), frame_id: frameId },
    height,
    width,
    encoding: form.encoding,
    is_bigendian: 0,
    step: width * form.bytesPerPixel,
    data: EMPTY,
  });
  return withData(prefix, dataLength);
}

/** The CDR of sensor_msgs/CompressedImage up to its bytes, which follow it in the record. */
export function compressedImagePrefix(stamp: bigint, frameId: string, format: string, dataLength: number): Uint8Array {
  return withData(compressedWriter.writeMessage({ header: { stamp: rosTime(stamp), frame_id: frameId }, format, data: EMPTY }), dataLength);
}

/** Stand-ins for a frame's bytes, one per length mod 4. */
const SHORT_DATA = [0, 1, 2, 3].map((n) => new Uint8Array(n));

/**
 * The CDR of foxglove_msgs/CompressedVideo around its bytes: what precedes them and what
 * follows them (`format` comes after `data`). The message is written with stand-in data of
 * the same length mod 4 — the padding before `format` depends on nothing else — and split
 * where the data begins: the 4-byte encapsulation header, the 8-byte timestamp, frame_id
 * (its length word, as written, counts its bytes and NUL), padding to 4, then data's length word.
 */
export function compressedVideoParts(stamp: bigint, frameId: string, format: string, dataLength: number): { prefix: Uint8Array; suffix: Uint8Array } {
  const short = SHORT_DATA[dataLength % 4]!;
  const whole = videoWriter.writeMessage({ timestamp: rosTime(stamp), frame_id: frameId, data: short, format });
  const frameIdEnd = 8 + 4 + new DataView(whole.buffer, whole.byteOffset + 12, 4).getUint32(0, true);
  const dataStart = 4 + (Math.ceil(frameIdEnd / 4) * 4 + 4);
  return { prefix: withData(whole.subarray(0, dataStart), dataLength), suffix: whole.subarray(dataStart + short.byteLength) };
}

/**
 * A frame's message as parts written one after another: the CDR before the bytes, the bytes
 * as they are (never copied into the message), and for video the CDR after them.
 */
export function imageMessageParts(stamp: bigint, camera: { id: string; width: number; height: number }, form: ImageForm, bytes: Uint8Array): Uint8Array[] {
  if (form.kind === 'raw') return [imagePrefix(stamp, camera.id, camera.width, camera.height, form, bytes.byteLength), bytes];
  if (form.kind === 'compressed') return [compressedImagePrefix(stamp, camera.id, form.format, bytes.byteLength), bytes];
  const { prefix, suffix } = compressedVideoParts(stamp, camera.id, form.format, bytes.byteLength);
  return [prefix, bytes, suffix];
}

/** Why a member of a group was not written. */
export type NotRecordedReason = 'disk' | 'encoder' | 'write-error' | 'no-pixels' | 'format';

/** The CDR of syncap_msgs/FrameGroup. */
export function frameGroupMessage(group: FrameGroup, notRecorded: ReadonlyMap<string, NotRecordedReason>): Uint8Array {
  const members = [...group.frames.values()];
  return groupWriter.writeMessage({
    header: { stamp: rosTime(group.timeNs), frame_id: '' },
    id: BigInt(group.id),
    span_ns: BigInt(Math.round(group.spanNs)),
    complete: group.complete,
    cameras: members.map((f) => f.cameraId),
    seqs: new Uint32Array(members.map((f) => f.seq)),
    stamps: members.map((f) => rosTime(f.rigTimeNs)),
    missing: [...group.missing],
    not_recorded: [...notRecorded.keys()],
    not_recorded_reasons: [...notRecorded.values()],
  });
}

/** The CDR of syncap_msgs/ClockSample, read at rig time `atRigNs`. */
export function clockSampleMessage(sample: ClockSample, atRigNs: bigint): Uint8Array {
  return clockWriter.writeMessage({
    header: { stamp: rosTime(atRigNs), frame_id: '' },
    monotonic_ns: sample.monotonicNs,
    offset_ns: sample.offsetNs,
    uncertainty_ns: sample.uncertaintyNs,
  });
}
