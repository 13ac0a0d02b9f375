import { Listeners, type Unsubscribe } from '@syncap/core';
import { WebSocket, WebSocketServer } from 'ws';
import type { Connector, MessageConnection } from './message-connection.js';
import { CloseCodes, clip, MAX_MESSAGE_BYTES } from './protocol.js';

/** After sending a close frame, how long the peer has to answer before the socket is destroyed, ms (ws's own is 30 s). */
const CLOSE_DEADLINE_MS = 2000;

/** The close code ws sends for each of its receiver errors (what the peer sent broke the WebSocket protocol). */
function receiverErrorCode(error: Error & { code?: string }): number | undefined {
  if (!error.code?.startsWith('WS_ERR_')) return undefined;
  if (error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') return CloseCodes.tooLarge;
  if (error.code === 'WS_ERR_INVALID_UTF8') return CloseCodes.badText;
  return CloseCodes.badFrame;
}

/** A close frame carries at most 123 bytes of reason (UTF-8). */
function closeReason(reason: string): string {
  let r = reason.slice(0, 123);
  while (Buffer.byteLength(r) > 123) r = r.slice(0, -1);
  return r;
}

/**
 * Adapts a `ws` WebSocket to a MessageConnection. A message over the size limit (or a frame
 * that breaks the protocol) closes the socket in ws itself; it is reported as a close with
 * ws's code (1009, 1007, 1002) and what was wrong, so the server counts it as a rejection.
 */
export function wsConnection(socket: WebSocket, remote: string): MessageConnection {
  const messages = new Listeners<string>();
  const closes = new Listeners<{ code: number; reason: string }>();
  socket.on('message', (data, isBinary) => {
    messages.emit(isBinary ? '\u0000binary' : data.toString());
  });
  let abortReason: string | undefined;
  let refused: { code: number; reason: string } | undefined;
  let closeDeadline: NodeJS.Timeout | undefined;
  socket.on('close', (code, reason) => {
    clearTimeout(closeDeadline);
    closes.emit(refused ?? { code, reason: abortReason ?? reason.toString() });
  });
  const cutOffLater = () => {
    // Every connection has a deadline: a peer that never answers the close frame is cut off.
    clearTimeout(closeDeadline);
    closeDeadline = setTimeout(() => socket.terminate(), CLOSE_DEADLINE_MS);
    closeDeadline.unref();
  };
  socket.on('error', (error) => {
    // 'close' follows every error (and an unhandled 'error' would crash); say why ws closed it.
    const code = receiverErrorCode(error);
    if (code === undefined) return;
    refused ??= { code, reason: clip(error.message) };
    cutOffLater(); // ws has sent its close frame and would wait 30 s for the answer
  });
  return {
    remote,
    get bufferedBytes() {
      return socket.bufferedAmount;
    },
    get open() {
      return socket.readyState === WebSocket.OPEN;
    },
    send(text) {
      if (socket.readyState === WebSocket.OPEN) socket.send(text);
    },
    close(code, reason) {
      if (socket.readyState !== WebSocket.OPEN && socket.readyState !== WebSocket.CONNECTING) return;
      socket.close(code, closeReason(reason));
      cutOffLater();
    },
    abort(reason) {
      abortReason = reason;
      socket.terminate();
    },
    onMessage: (l): Unsubscribe => messages.add(l),
    onClose: (l): Unsubscribe => closes.add(({ code, reason }) => l(code, reason)),
  };
}

export interface WsListenOptions {
  /** Default 127.0.0.1: reachable from this machine only unless told otherwise. */
  readonly host?: string;
  /** Default 8888 (the seed's port); 0 picks a free one. */
  readonly port?: number;
  readonly maxPayloadBytes?: number;
  /** An existing HTTP server to attach to (the dashboard shares its port): WebSocket upgrades go to the sync server. */
  readonly server?: import('node:http').Server;
  /** Accept upgrades on this path only. Default: any path. */
  readonly path?: string;
}

export interface WsListener {
  readonly port: number;
  close(): Promise<void>;
}

/** Accepts WebSocket connections and hands each to `accept`. */
export async function listenWs(accept: (connection: MessageConnection) => void, options: WsListenOptions = {}): Promise<WsListener> {
  const maxPayload = options.maxPayloadBytes ?? MAX_MESSAGE_BYTES;
  const wss = options.server
    ? new WebSocketServer({ server: options.server, ...(options.path ? { path: options.path } : {}), maxPayload })
    : new WebSocketServer({ host: options.host ?? '127.0.0.1', port: options.port ?? 8888, maxPayload });
  wss.on('connection', (socket, request) => {
    accept(wsConnection(socket, `${request.socket.remoteAddress}:${request.socket.remotePort}`));
  });
  if (!options.server) {
    await new Promise<void>((resolve, reject) => {
      wss.once('listening', resolve);
      wss.once('error', reject);
    });
  }
  const address = options.server ? options.server.address() : wss.address();
  const port = typeof address === 'object' && address ? address.port : (options.port ?? 8888);
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close(() => resolve());
      }),
  };
}

/** A Connector that dials `url` (ws://host:port) each time the client (re)connects. */
export function wsConnector(url: string, options: { maxPayloadBytes?: number; handshakeTimeoutMs?: number } = {}): Connector {
  return () =>
    new Promise((resolve, reject) => {
      const socket = new WebSocket(url, { maxPayload: options.maxPayloadBytes ?? MAX_MESSAGE_BYTES, handshakeTimeout: options.handshakeTimeoutMs ?? 5000 });
      const onError = (error: Error) => {
        socket.removeAllListeners();
        socket.on('error', () => undefined);
        reject(error);
      };
      socket.once('error', onError);
      socket.once('open', () => {
        socket.off('error', onError);
        resolve(wsConnection(socket, url));
      });
    });
}
