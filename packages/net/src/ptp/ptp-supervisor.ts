import { type ChildProcess, execFile, spawn as nodeSpawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ConfigError, type ErrorCode, type ErrorSink, Listeners, SyncapError, type Timers, type Unsubscribe } from '@syncap/core';
import type { PtpState } from '../protocol.js';
import { LineSplitter, type PtpLogEvent, parsePtpLine } from './ptp-log-parser.js';

export interface PtpSupervisorOptions {
  readonly role: 'master' | 'slave';
  /** Network interface ptp4l runs on. */
  readonly interface: string;
  /** Default 'l2' (ptp4l -2); 'udp4' for UDP/IPv4. */
  readonly transport?: 'l2' | 'udp4';
  /** Default 'software' (-S); 'hardware' (-H) needs a PHC. */
  readonly timestamping?: 'software' | 'hardware';
  /** Measure but never adjust the clock (ptp4l free_running 1). Tests always set it. */
  readonly freeRunning?: boolean;
  /** Also run phc2sys (slave, hardware timestamping): PHC → CLOCK_REALTIME. */
  readonly phc2sys?: boolean;
  /** Extra [global] options for the generated ptp4l config. */
  readonly config?: Readonly<Record<string, string | number>>;
  /** Run the daemons inside this network namespace (ip netns exec). */
  readonly netns?: string;
  readonly ptp4lPath?: string;
  readonly phc2sysPath?: string;
  /** Restart a daemon that exits: first delay and cap, ms. Defaults 1000 and 30 000. */
  readonly restart?: { readonly initialMs?: number; readonly maxMs?: number };
  /** Offsets kept for statistics. Default 64. */
  readonly window?: number;
  /** Timers for restart backoff (the host's, or fake timers in tests). */
  readonly timers: Timers;
  /** Where errors thrown by event listeners go. */
  readonly onListenerError?: ErrorSink;
  /** For tests: how processes are started. */
  readonly spawn?: (command: string, args: readonly string[]) => ChildProcess;
}

export type PtpSupervisorEvent =
  | { readonly type: 'log'; readonly event: PtpLogEvent }
  | { readonly type: 'state'; readonly state: PtpState; readonly previous: PtpState }
  | { readonly type: 'exit'; readonly daemon: string; readonly code: number | null; readonly restartInMs?: number }
  | { readonly type: 'error'; readonly error: SyncapError };

export interface PtpStats {
  readonly state: PtpState;
  readonly samples: number;
  readonly lastOffsetNs?: number;
  readonly meanOffsetNs?: number;
  readonly rmsOffsetNs?: number;
  readonly maxAbsOffsetNs?: number;
  readonly freqPpb?: number;
  readonly pathDelayNs?: number;
  readonly restarts: number;
}

/** ptp4l or phc2sys cannot run: what is missing and how to fix it. */
export class PtpError extends SyncapError {
  constructor(code: Extract<ErrorCode, `E_PTP_${string}`>, message: string) {
    super(code, message);
  }
}

const STATE_OF: Record<string, PtpState> = {
  INITIALIZING: 'listening',
  LISTENING: 'listening',
  PRE_MASTER: 'listening',
  MASTER: 'master',
  GRAND_MASTER: 'master',
  PASSIVE: 'listening',
  UNCALIBRATED: 'uncalibrated',
  SLAVE: 'slave',
  FAULTY: 'faulty',
  DISABLED: 'absent',
};

/**
 * Starts and watches linuxptp (ptp4l, optionally phc2sys) from a generated config,
 * parses their output into lock state and offset statistics, and restarts a daemon
 * that dies, with backoff. Seed: `ptp_clock_sync`.
 */
export class PtpSupervisor {
  private readonly events: Listeners<PtpSupervisorEvent>;
  private readonly timers: Timers;
  private readonly children = new Map<string, ChildProcess>();
  private readonly offsets: number[] = [];
  private stateValue: PtpState = 'absent';
  private freqPpb: number | undefined;
  private pathDelayNs: number | undefined;
  private running = false;
  private restarts = 0;
  private attempts = new Map<string, number>();
  private readonly configPath: string;
  private lastFatal: string | undefined;

  constructor(private readonly options: PtpSupervisorOptions) {
    if (!/^[A-Za-z0-9_.:-]{1,15}$/.test(options.interface)) throw new ConfigError(`ptp interface "${options.interface}" is not a valid interface name`);
    if (options.netns !== undefined && !/^[A-Za-z0-9_.-]+$/.test(options.netns))
      throw new ConfigError(`netns "${options.netns}" is not a valid namespace name`);
    this.timers = options.timers;
    this.events = new Listeners(options.onListenerError);
    const dir = mkdtempSync(join(tmpdir(), 'syncap-ptp-'));
    this.configPath = join(dir, 'ptp4l.conf');
    writeFileSync(this.configPath, this.configText(dir));
  }

  get state(): PtpState {
    return this.stateValue;
  }

  /** ptp4l's management socket (for pmc). */
  get socketPath(): string {
    return join(dirname(this.configPath), 'ptp4l.sock');
  }

  /** The generated ptp4l configuration (for logs and `--help`-level transparency). */
  configText(dir = tmpdir()): string {
    const o = this.options;
    const lines: Record<string, string | number> = {
      ...(o.role === 'slave' ? { slaveOnly: 1 } : {}),
      ...(o.freeRunning ? { free_running: 1 } : {}),
      time_stamping: o.timestamping === 'hardware' ? 'hardware' : 'software',
      network_transport: o.transport === 'udp4' ? 'UDPv4' : 'L2',
      // A private control socket per instance: several may run on one host (namespaces, tests).
      uds_address: join(dir, 'ptp4l.sock'),
      // One "master offset" line per second even when free running: frequency estimated
      // over 2^0 s, and statistics printed per sample (summary interval = sync interval).
      freq_est_interval: 0,
      summary_interval: o.config?.logSyncInterval ?? 0,
      ...o.config,
    };
    return `[global]\n${Object.entries(lines)
      .map(([k, v]) => `${k} ${v}`)
      .join('\n')}\n`;
  }

  onEvent(listener: (event: PtpSupervisorEvent) => void): Unsubscribe {
    return this.events.add(listener);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.launch('ptp4l');
    if (this.options.phc2sys && this.options.role === 'slave') this.launch('phc2sys');
  }

  stop(): void {
    this.running = false;
    for (const child of this.children.values()) child.kill('SIGTERM');
    this.children.clear();
    this.setState('absent');
  }

  stats(): PtpStats {
    const n = this.offsets.length;
    if (n === 0) return { state: this.stateValue, samples: 0, restarts: this.restarts, freqPpb: this.freqPpb, pathDelayNs: this.pathDelayNs };
    const mean = this.offsets.reduce((a, b) => a + b, 0) / n;
    const rms = Math.sqrt(this.offsets.reduce((a, b) => a + b * b, 0) / n);
    return {
      state: this.stateValue,
      samples: n,
      lastOffsetNs: this.offsets[n - 1],
      meanOffsetNs: mean,
      rmsOffsetNs: rms,
      maxAbsOffsetNs: Math.max(...this.offsets.map(Math.abs)),
      freqPpb: this.freqPpb,
      pathDelayNs: this.pathDelayNs,
      restarts: this.restarts,
    };
  }

  /** Feeds one output line (exposed so captured logs can be replayed through the same logic). */
  ingest(line: string): void {
    const event = parsePtpLine(line);
    if (!event) return;
    this.events.emit({ type: 'log', event });
    switch (event.kind) {
      case 'port-state':
        if (event.port !== 0) this.setState(STATE_OF[event.to] ?? 'unknown');
        return;
      case 'offset':
        // Lock statistics are ptp4l's (master ↔ PHC/system clock); phc2sys offsets are reported as events only.
        if (event.daemon === 'ptp4l') {
          this.offsets.push(event.offsetNs);
          if (this.offsets.length > (this.options.window ?? 64)) this.offsets.shift();
          this.freqPpb = event.freqPpb;
          this.pathDelayNs = event.pathDelayNs;
        }
        return;
      case 'summary':
        this.freqPpb = event.freqPpb;
        if (event.delayNs !== undefined) this.pathDelayNs = event.delayNs;
        return;
      case 'grandmaster':
        this.setState('master');
        return;
      case 'fault':
        this.lastFatal = event.message;
        return;
      default:
        return;
    }
  }

  private launch(daemon: 'ptp4l' | 'phc2sys'): void {
    const o = this.options;
    const binary = daemon === 'ptp4l' ? (o.ptp4lPath ?? 'ptp4l') : (o.phc2sysPath ?? 'phc2sys');
    const args =
      daemon === 'ptp4l'
        ? ['-i', o.interface, '-f', this.configPath, '-m', o.timestamping === 'hardware' ? '-H' : '-S', o.transport === 'udp4' ? '-4' : '-2']
        : ['-s', o.interface, '-c', 'CLOCK_REALTIME', '-w', '-m', '-O', '0', ...(o.freeRunning ? ['--free_running=1'] : [])];
    const [command, fullArgs] = o.netns ? ['ip', ['netns', 'exec', o.netns, binary, ...args]] : [binary, args];
    const spawn = o.spawn ?? ((c: string, a: readonly string[]) => nodeSpawn(c, [...a], { stdio: ['ignore', 'pipe', 'pipe'] }));
    this.lastFatal = undefined;
    const child = spawn(command, fullArgs);
    this.children.set(daemon, child);
    if (daemon === 'ptp4l') this.setState('listening');
    for (const stream of [child.stdout, child.stderr]) {
      const splitter = new LineSplitter();
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => splitter.push(chunk, (l) => this.ingest(l)));
      stream?.on('end', () => splitter.end((l) => this.ingest(l)));
    }
    child.on('error', (error: NodeJS.ErrnoException) => {
      const missing = error.code === 'ENOENT';
      this.running = false;
      this.events.emit({
        type: 'error',
        error: new PtpError(
          missing ? 'E_PTP_MISSING' : 'E_PTP_SPAWN',
          missing
            ? `${o.netns ? 'ip' : binary} not found: install linuxptp${o.netns ? ' and iproute2' : ''} (apt-get install linuxptp${o.netns ? ' iproute2' : ''})`
            : `cannot start ${binary}: ${error.message}`,
        ),
      });
    });
    child.on('exit', (code) => {
      if (this.children.get(daemon) !== child) return;
      this.children.delete(daemon);
      if (daemon === 'ptp4l') this.setState('absent');
      if (!this.running) {
        this.events.emit({ type: 'exit', daemon, code });
        return;
      }
      const fatal = this.lastFatal ?? '';
      if (/No such device|does not exist|failed to create a clock/i.test(fatal) && this.restarts === 0 && !this.attempts.get(daemon)) {
        // Nothing a restart can fix: the interface is missing.
        this.running = false;
        this.events.emit({ type: 'exit', daemon, code });
        this.events.emit({
          type: 'error',
          error: new PtpError('E_PTP_INTERFACE', `${daemon} cannot use interface "${o.interface}"${o.netns ? ` in netns ${o.netns}` : ''}: ${fatal}`),
        });
        return;
      }
      const attempt = this.attempts.get(daemon) ?? 0;
      this.attempts.set(daemon, attempt + 1);
      const delay = Math.min(o.restart?.maxMs ?? 30_000, (o.restart?.initialMs ?? 1000) * 2 ** attempt);
      this.events.emit({ type: 'exit', daemon, code, restartInMs: delay });
      this.timers.setTimeout(() => {
        if (!this.running) return;
        this.restarts++;
        this.launch(daemon);
      }, delay);
    });
  }

  private setState(state: PtpState): void {
    if (state === this.stateValue) return;
    const previous = this.stateValue;
    this.stateValue = state;
    if (state === 'slave' || state === 'master') this.attempts.clear();
    this.events.emit({ type: 'state', state, previous });
  }
}

/**
 * Watches a ptp4l that something else runs (systemd): polls its management socket
 * with pmc and reports state changes and offsets, like PtpSupervisor does for the
 * daemons it starts.
 */
export class PtpAttachment {
  private readonly events: Listeners<PtpSupervisorEvent>;
  private handle: unknown;
  private stateValue: PtpState = 'unknown';
  lastOffsetNs: number | undefined;

  constructor(
    private readonly socketPath: string,
    private readonly options: { timers: Timers; intervalMs?: number; pmcPath?: string; onListenerError?: ErrorSink },
  ) {
    this.events = new Listeners(options.onListenerError);
  }

  get state(): PtpState {
    return this.stateValue;
  }

  onEvent(listener: (event: PtpSupervisorEvent) => void): Unsubscribe {
    return this.events.add(listener);
  }

  start(): void {
    const timers = this.options.timers;
    const poll = async () => {
      try {
        const r = await queryPmc(this.socketPath, { pmcPath: this.options.pmcPath });
        this.lastOffsetNs = r.offsetNs;
        if (r.state !== this.stateValue) {
          const previous = this.stateValue;
          this.stateValue = r.state;
          this.events.emit({ type: 'state', state: r.state, previous });
        }
      } catch (error) {
        this.events.emit({ type: 'error', error: error instanceof SyncapError ? error : new PtpError('E_PTP_PMC', String(error)) });
      }
      this.handle = timers.setTimeout(() => void poll(), this.options.intervalMs ?? 1000);
    };
    void poll();
  }

  stop(): void {
    this.options.timers.clearTimeout(this.handle);
  }
}

/**
 * Reads the state of a ptp4l that is already running (systemd) through its
 * management socket: `pmc -u -b 0 -s <socket> "GET PORT_DATA_SET" "GET TIME_STATUS_NP"`.
 */
export async function queryPmc(socketPath: string, options: { pmcPath?: string; timeoutMs?: number } = {}): Promise<{ state: PtpState; offsetNs?: number }> {
  const out = await new Promise<string>((resolve, reject) => {
    execFile(
      options.pmcPath ?? 'pmc',
      ['-u', '-b', '0', '-s', socketPath, 'GET PORT_DATA_SET', 'GET TIME_STATUS_NP'],
      { timeout: options.timeoutMs ?? 2000 },
      (error, stdout) => {
        if (error && (error as NodeJS.ErrnoException).code === 'ENOENT')
          reject(new PtpError('E_PTP_MISSING', 'pmc not found: install linuxptp (apt-get install linuxptp)'));
        else if (error && !stdout) reject(new PtpError('E_PTP_PMC', `pmc could not query ${socketPath}: ${error.message}`));
        else resolve(stdout);
      },
    );
  });
  return parsePmc(out);
}

/** Parses pmc's answers to GET PORT_DATA_SET and GET TIME_STATUS_NP. */
export function parsePmc(text: string): { state: PtpState; offsetNs?: number } {
  const portState = /portState\s+(\w+)/.exec(text)?.[1];
  const offset = /master_offset\s+(-?\d+)/.exec(text)?.[1];
  const state = portState ? (STATE_OF[portState] ?? 'unknown') : 'absent';
  return offset !== undefined ? { state, offsetNs: Number(offset) } : { state };
}
