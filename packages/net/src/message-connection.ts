import type { Unsubscribe } from '@syncap/core';

/**
 * A message-oriented connection: what SyncServer and SyncClient need from a
 * transport. Implemented over WebSockets (ws-transport) and over the simulated
 * network (@syncap/sim's SimNetwork), so the same code runs on real sockets and
 * on virtual time. Text messages carry the JSON protocol; binary messages carry
 * pixels (thumbnails), which never go as base64 in text.
 */
export interface MessageConnection {
  /** Peer address, for logs. */
  readonly remote: string;
  /** Bytes queued for sending and not yet written (backpressure). */
  readonly bufferedBytes: number;
  readonly open: boolean;
  send(text: string): void;
  /** Sends a binary message. The connection may hold the bytes until they are written: do not change them afterwards. */
  sendBinary(bytes: Uint8Array): void;
  close(code: number, reason: string): void;
  /** Drops the connection at once, without a closing handshake (the peer is unreachable). */
  abort(reason: string): void;
  onMessage(listener: (text: string) => void): Unsubscribe;
  /** Binary messages, apart from text: a side that expects none refuses them itself. */
  onBinary(listener: (bytes: Uint8Array) => void): Unsubscribe;
  onClose(listener: (code: number, reason: string) => void): Unsubscribe;
}

/** Opens a connection to the server (a new one per call: the client reconnects through it). */
export type Connector = () => Promise<MessageConnection>;
