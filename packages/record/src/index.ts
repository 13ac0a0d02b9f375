/**
 * @syncap/record — recordings as ROS 2 bags: MCAP (profile `ros2`, `ros2msg` schemas, `cdr`
 * messages) written zero-copy off the JS thread, with rosbag2's `metadata.yaml`, and the
 * reading side that `record info` uses.
 */
export { Ros2Recorder, type RecorderCamera, type RecorderStats, type Ros2RecorderOptions } from './ros2-recorder.js';
export { type NotRecordedReason, imageFormOf, type ImageForm, rosTime } from './ros2-messages.js';
export { ros2Definitions, ros2SchemaText, type Ros2TypeName } from './ros2-schemas.js';
export { cameraTopic, CLOCK_TOPIC, GROUPS_TOPIC } from './topics.js';
export { type BagFileInfo, type BagMetadata, type BagTopicInfo, bagMetadataYaml, parseBagMetadata } from './bag-metadata.js';
export { forEachRecord, openIndexed, type RecordingInfo, readRecordingInfo, readStreamed } from './recording-reader.js';
