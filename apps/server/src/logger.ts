import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';

/**
 * Structured logs: JSON lines on stderr (stdout stays free for machine-readable output),
 * human-readable when stderr is a terminal.
 */
export function createLogger(name: string, level = process.env.SYNCAP_LOG_LEVEL ?? 'info'): Logger {
  if (process.stderr.isTTY) return pino({ name, level }, pretty({ colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname', destination: 2 }));
  return pino({ name, level }, pino.destination(2));
}
