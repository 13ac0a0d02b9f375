/**
 * Parsers for what ptp4l and phc2sys print (stdout with -m, or their logs):
 * port state transitions (linuxptp 3.x "port 1:" and 4.x "port 1 (eth0):"),
 * "master offset … sN freq … path delay …", summary "rms … max … freq … [delay …]",
 * and phc2sys "<clock> phc|sys offset … sN freq … delay …".
 */

export type PortState = 'INITIALIZING' | 'FAULTY' | 'DISABLED' | 'LISTENING' | 'PRE_MASTER' | 'MASTER' | 'PASSIVE' | 'UNCALIBRATED' | 'SLAVE' | 'GRAND_MASTER';

export type PtpLogEvent =
  | {
      readonly kind: 'port-state';
      readonly daemon: string;
      readonly time: number;
      readonly port: number;
      readonly iface?: string;
      readonly from: PortState;
      readonly to: PortState;
      readonly event: string;
    }
  | {
      readonly kind: 'offset';
      readonly daemon: string;
      readonly time: number;
      readonly offsetNs: number;
      readonly servoState: number;
      readonly freqPpb: number;
      readonly pathDelayNs: number;
      readonly clock?: string;
      readonly source?: 'phc' | 'sys';
    }
  | {
      readonly kind: 'summary';
      readonly daemon: string;
      readonly time: number;
      readonly rmsNs: number;
      readonly maxNs: number;
      readonly freqPpb: number;
      readonly freqStdPpb: number;
      readonly delayNs?: number;
      readonly delayStdNs?: number;
      readonly clock?: string;
    }
  | { readonly kind: 'best-master'; readonly daemon: string; readonly time: number; readonly clockId: string; readonly local: boolean }
  | { readonly kind: 'grandmaster'; readonly daemon: string; readonly time: number }
  | { readonly kind: 'fault'; readonly daemon: string; readonly time: number; readonly message: string }
  | { readonly kind: 'other'; readonly daemon: string; readonly time: number; readonly message: string };

const PREFIX = /^(?<daemon>ptp4l|phc2sys|ts2phc)\[(?<time>\d+(?:\.\d+)?)\]: (?:\[[^\]]+\] )?(?<msg>.*)$/;
const PORT_STATE = /^port (?<port>\d+)(?: \((?<iface>[^)]+)\))?: (?<from>[A-Z_]+) to (?<to>[A-Z_]+) on (?<event>.+)$/;
const MASTER_OFFSET = /^master offset\s+(?<offset>-?\d+) s(?<s>\d) freq\s+(?<freq>[+-]?\d+) path delay\s+(?<delay>-?\d+)/;
const PHC2SYS_OFFSET = /^(?<clock>\S+) (?<src>phc|sys) offset\s+(?<offset>-?\d+) s(?<s>\d) freq\s+(?<freq>[+-]?\d+) delay\s+(?<delay>-?\d+)/;
const SUMMARY =
  /^(?:(?<clock>\S+) )?rms\s+(?<rms>\d+) max\s+(?<max>\d+) freq\s+(?<freq>[+-]?\d+) \+\/-\s+(?<fstd>\d+)(?: delay\s+(?<delay>-?\d+) \+\/-\s+(?<dstd>\d+))?/;
const BEST_MASTER = /^selected (?:best master clock (?<remote>\S+)|local clock (?<local>\S+) as best master)/;
const FAULT = /(FAULT|failed|timed out|error|No such device|does not exist)/i;

/** Parses one line; null for blank lines or lines that are not a daemon's. */
export function parsePtpLine(line: string): PtpLogEvent | null {
  const m = PREFIX.exec(line.trimEnd());
  if (!m?.groups) {
    const text = line.trim();
    if (text === '') return null;
    // Unprefixed lines are fatal startup messages ("failed to create a clock").
    return FAULT.test(text) ? { kind: 'fault', daemon: 'unknown', time: Number.NaN, message: text } : null;
  }
  const daemon = m.groups.daemon!;
  const time = Number(m.groups.time);
  const msg = m.groups.msg!;
  let g = PORT_STATE.exec(msg)?.groups;
  if (g) {
    return { kind: 'port-state', daemon, time, port: Number(g.port), iface: g.iface, from: g.from as PortState, to: g.to as PortState, event: g.event! };
  }
  g = MASTER_OFFSET.exec(msg)?.groups;
  if (g) return { kind: 'offset', daemon, time, offsetNs: Number(g.offset), servoState: Number(g.s), freqPpb: Number(g.freq), pathDelayNs: Number(g.delay) };
  g = PHC2SYS_OFFSET.exec(msg)?.groups;
  if (g) {
    return {
      kind: 'offset',
      daemon,
      time,
      clock: g.clock,
      source: g.src as 'phc' | 'sys',
      offsetNs: Number(g.offset),
      servoState: Number(g.s),
      freqPpb: Number(g.freq),
      pathDelayNs: Number(g.delay),
    };
  }
  g = SUMMARY.exec(msg)?.groups;
  if (g) {
    return {
      kind: 'summary',
      daemon,
      time,
      clock: g.clock,
      rmsNs: Number(g.rms),
      maxNs: Number(g.max),
      freqPpb: Number(g.freq),
      freqStdPpb: Number(g.fstd),
      ...(g.delay !== undefined ? { delayNs: Number(g.delay), delayStdNs: Number(g.dstd) } : {}),
    };
  }
  g = BEST_MASTER.exec(msg)?.groups;
  if (g) return { kind: 'best-master', daemon, time, clockId: (g.remote ?? g.local)!, local: g.local !== undefined };
  if (msg.includes('assuming the grand master role')) return { kind: 'grandmaster', daemon, time };
  if (FAULT.test(msg)) return { kind: 'fault', daemon, time, message: msg };
  return { kind: 'other', daemon, time, message: msg };
}

/** Splits a stream's chunks into lines (keeps a partial last line for the next chunk). */
export class LineSplitter {
  private rest = '';
  push(chunk: string, onLine: (line: string) => void): void {
    const text = this.rest + chunk;
    const lines = text.split('\n');
    this.rest = lines.pop() ?? '';
    // Bound a runaway line (a daemon printing without newlines) rather than grow forever.
    if (this.rest.length > 64 * 1024) this.rest = this.rest.slice(-64 * 1024);
    for (const line of lines) onLine(line);
  }
  end(onLine: (line: string) => void): void {
    if (this.rest) onLine(this.rest);
    this.rest = '';
  }
}
