/**
 * @syncap/record — recordings as ROS 2 bags: MCAP (profile `ros2`, `ros2msg` schemas, `cdr`
 * messages) written zero-copy off the JS thread, with rosbag2's `metadata.yaml`, and the
 * reading side that `record info` uses.
 */

export { type BagFileInfo, type BagMetadata, type BagTopicInfo, bagMetadataYaml, parseBagMetadata } from './bag-metadata.js';
export { type FoxgloveLiveOptions, FoxgloveLiveServer } from './foxglove-live-server.js';
export { forEachRecord, openIndexed, type RecordingInfo, readRecordingInfo, readStreamed } from './recording-reader.js';
export { type ImageForm, imageFormOf, imageTypeOf, type NotRecordedReason, rosTime } from './ros2-messages.js';
export { checkRecordingDirectory, type RecorderCamera, type RecorderStats, Ros2Recorder, type Ros2RecorderOptions } from './ros2-recorder.js';
export { type Ros2TypeName, ros2Definitions, ros2SchemaText } from './ros2-schemas.js';
export { CLOCK_TOPIC, cameraTopic, GROUPS_TOPIC } from './topics.js';
