import { Listeners, type Unsubscribe } from '@syncap/core';
import { WebSocket, WebSocketServer } from 'ws';
import type { Connector, MessageConnection } from './message-connection.js';
import { MAX_MESSAGE_BYTES } from './protocol.js';

/** Adapts a `ws` WebSocket to a MessageConnection. */
export function wsConnection(socket: WebSocket, remote: string): MessageConnection {
  const messages = new Listeners<string>();
  const closes = new Listeners<{ code: number; reason: string }>();
  socket.on('message', (data, isBinary) => {
    messages.emit(isBinary ? '\u0000binary' : data.toString());
  });
  let abortReason: string | undefined;
  socket.on('close', (code, reason) => closes.emit({ code, reason: abortReason ?? reason.toString() }));
  socket.on('error', () => {
    // 'close' follows every error; nothing more to do here (and an unhandled 'error' would crash).
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
      if (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING) socket.close(code, reason.slice(0, 120));
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
