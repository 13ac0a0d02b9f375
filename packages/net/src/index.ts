export * from './memory-connection.js';
export * from './message-connection.js';
export * from './ntp-offset.js';
export * from './protocol.js';
export * from './sync-client.js';
export * from './sync-server.js';
export * from './token.js';
export * from './ws-transport.js';
