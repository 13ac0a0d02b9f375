/**
 * @syncap/net — syncap across hosts: the sync protocol (v1, JSON over WebSocket; thumbnails as binary messages), the
 * SyncServer that forms global groups, the SyncClient a node reports through, the
 * SyncNode main loop (phase lock to the rig grid), and PTP supervision (linuxptp).
 * Transport-agnostic: the same code runs over WebSockets and over the simulated network.
 */

export { globalCameraId, splitGlobalCameraId } from './camera-id.js';
export { channelTimebaseSampler } from './channel-timebase.js';
export type { DeliveryOptions, DeliveryStats } from './group-delivery.js';
export { LogBudget } from './log-budget.js';
export { memoryConnectionPair } from './memory-connection.js';
// Transports
export type { Connector, MessageConnection } from './message-connection.js';
export { OffsetEstimator, type OffsetSample, offsetFromTimestamps } from './ntp-offset.js';
// The protocol
export {
  type AdjustCommand,
  type CameraAnnounce,
  CloseCodes,
  clip,
  decodeMessage,
  encodeMessage,
  type GroupReport,
  type GroupsMessage,
  type HelloMessage,
  MAX_CAMERA_FPS,
  MAX_ECHO_CHARS,
  MAX_GROUPS_PER_BATCH,
  MAX_HELLO_BYTES,
  MAX_MESSAGE_BYTES,
  type NodeMessage,
  nodeMessageSchema,
  type PhaseLockMessage,
  PROTOCOL_VERSION,
  ProtocolError,
  type PtpState,
  type ServerMessage,
  serverMessageSchema,
} from './protocol.js';
// PTP (linuxptp)
export { LineSplitter, type PortState, type PtpLogEvent, parsePtpLine } from './ptp/ptp-log-parser.js';
export {
  PtpAttachment,
  PtpError,
  type PtpStats,
  PtpSupervisor,
  type PtpSupervisorEvent,
  type PtpSupervisorOptions,
  parsePmc,
  queryPmc,
} from './ptp/ptp-supervisor.js';
export { SyncClient, type SyncClientEvent, type SyncClientOptions, type ThumbnailRoom } from './sync-client.js';
export { SyncNode, type SyncNodeEvent, type SyncNodeOptions } from './sync-node.js';
// Server, client, node
export {
  type GlobalDiscardReason,
  type NodeStatus,
  rejectionReason,
  SyncServer,
  type SyncServerEvent,
  type SyncServerOptions,
} from './sync-server.js';
// Thumbnails (the one binary message)
export {
  type Thumbnailer,
  ThumbnailFeed,
  type ThumbnailFeedOptions,
  type ThumbnailSink,
  type ThumbnailSource,
  type ThumbnailStats,
} from './thumbnail-feed.js';
export {
  decodeThumbnailMessage,
  encodeThumbnailMessage,
  jpegSize,
  MAX_THUMBNAIL_BYTES,
  MAX_THUMBNAIL_HEIGHT,
  MAX_THUMBNAIL_WIDTH,
  type ReceivedThumbnail,
  type ThumbnailMessage,
} from './thumbnail-message.js';
export { tokensMatch } from './token.js';
export { listenWs, type WsListener, type WsListenOptions, wsConnection, wsConnector } from './ws-transport.js';
