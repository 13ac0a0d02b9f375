import { parse } from '@foxglove/rosmsg';

/** Parsed message definitions (what @foxglove/rosmsg2-serialization's writer and reader take). */
export type MessageDefinitions = ReturnType<typeof parse>;

/**
 * The ROS 2 message types a recording holds, as `.msg` text (the `ros2msg` schema
 * encoding: a type's definition, then each dependency after a line of `=` and `MSG: <type>`,
 * as rosbag2 writes them and Foxglove reads them).
 */
const DEFINITIONS: Readonly<Record<string, string>> = {
  'builtin_interfaces/msg/Time': 'int32 sec\nuint32 nanosec',
  'std_msgs/msg/Header': 'builtin_interfaces/Time stamp\nstring frame_id',
  'sensor_msgs/msg/Image': [
    'std_msgs/Header header',
    'uint32 height',
    'uint32 width',
    'string encoding',
    'uint8 is_bigendian',
    'uint32 step',
    'uint8[] data',
  ].join('\n'),
  'sensor_msgs/msg/CompressedImage': ['std_msgs/Header header', 'string format', 'uint8[] data'].join('\n'),
  // Foxglove's video frame (its Image panel decodes H264 from it); as foxglove_msgs ships it.
  'foxglove_msgs/msg/CompressedVideo': ['builtin_interfaces/Time timestamp', 'string frame_id', 'uint8[] data', 'string format'].join('\n'),
  'syncap_msgs/msg/FrameGroup': [
    '# A frame group: one frame per camera, taken at the same instant (syncap).',
    '# header.stamp is the group time (its earliest frame), in the rig timebase.',
    'std_msgs/Header header',
    'uint64 id',
    'int64 span_ns',
    'bool complete',
    '# Members in rig order: camera id, driver sequence, rig time (mid-exposure).',
    'string[] cameras',
    'uint32[] seqs',
    'builtin_interfaces/Time[] stamps',
    '# Cameras of the rig without a frame in this group.',
    'string[] missing',
    '# Members the recorder could not write (disk or encoder behind), and why.',
    'string[] not_recorded',
    'string[] not_recorded_reasons',
  ].join('\n'),
  'syncap_msgs/msg/ClockSample': [
    '# A bracketed reading of the rig clock against CLOCK_MONOTONIC (the camera timestamp clock).',
    '# header.stamp is the rig time of the reading.',
    'std_msgs/Header header',
    'int64 monotonic_ns',
    '# rig time minus monotonic time, ns, and the half-width of the bracket.',
    'int64 offset_ns',
    'float64 uncertainty_ns',
  ].join('\n'),
};

/** Types each type uses, in the order rosbag2 lists them. */
const DEPENDENCIES: Readonly<Record<string, readonly string[]>> = {
  'builtin_interfaces/msg/Time': [],
  'std_msgs/msg/Header': ['builtin_interfaces/msg/Time'],
  'sensor_msgs/msg/Image': ['std_msgs/msg/Header', 'builtin_interfaces/msg/Time'],
  'sensor_msgs/msg/CompressedImage': ['std_msgs/msg/Header', 'builtin_interfaces/msg/Time'],
  'foxglove_msgs/msg/CompressedVideo': ['builtin_interfaces/msg/Time'],
  'syncap_msgs/msg/FrameGroup': ['std_msgs/msg/Header', 'builtin_interfaces/msg/Time'],
  'syncap_msgs/msg/ClockSample': ['std_msgs/msg/Header', 'builtin_interfaces/msg/Time'],
};

/** The message types a recording uses. */
export type Ros2TypeName =
  | 'sensor_msgs/msg/Image'
  | 'sensor_msgs/msg/CompressedImage'
  | 'foxglove_msgs/msg/CompressedVideo'
  | 'syncap_msgs/msg/FrameGroup'
  | 'syncap_msgs/msg/ClockSample';

const SEPARATOR = '================================================================================';

/** A type's full `ros2msg` schema text: its definition, then each dependency's. */
export function ros2SchemaText(type: Ros2TypeName): string {
  const parts = [DEFINITIONS[type]!];
  for (const dep of DEPENDENCIES[type]!) parts.push(`${SEPARATOR}\nMSG: ${dep.replace('/msg/', '/')}\n${DEFINITIONS[dep]!}`);
  return `${parts.join('\n')}\n`;
}

const parsed = new Map<string, MessageDefinitions>();

/** The parsed definitions of a schema text (what a CDR writer or reader needs), cached. */
export function ros2Definitions(schemaText: string): MessageDefinitions {
  let defs = parsed.get(schemaText);
  if (!defs) {
    defs = parse(schemaText, { ros2: true });
    parsed.set(schemaText, defs);
  }
  return defs;
}
