import type { Unsubscribe } from '@syncap/core';

/**
 * A message-oriented connection: what SyncServer and SyncClient need from a
 * transport. Implemented over WebSockets (ws-transport) and over the simulated
 * network (@syncap/sim's SimNetwork), so the same code runs on real sockets and
 * on virtual time.
 */
export interface MessageConnection {
  /** Peer address, for logs. */
  readonly remote: string;
  /** Bytes queued for sending and not yet written (backpressure). */
  readonly bufferedBytes: number;
  readonly open: boolean;
  send(text: string): void;
  close(code: number, reason: string): void;
  /** Drops the connection at once, without a closing handshake (the peer is unreachable). */
  abort(reason: string): void;
  onMessage(listener: (text: string) => void): Unsubscribe;
  onClose(listener: (code: number, reason: string) => void): Unsubscribe;
}

/** Opens a connection to the server (a new one per call: the client reconnects through it). */
export type Connector = () => Promise<MessageConnection>;
