import { type Frame, type FrameGroup, type PolicyConfig, SyncapError } from '@syncap/core';
import { type MessageConnection, memoryConnectionPair, SyncServer, type SyncServerEvent } from '@syncap/net';
import { type Fault, ProcessTimers, type SeededRandom, SimNetwork, type SimScheduler } from '@syncap/sim';
import type { RigSpec } from '../rig-spec.js';
import { createSimMachine, type SimHost, type SimMachine, startSimProcess } from '../sim-host.js';

export interface SoakRigOptions {
  readonly scheduler: SimScheduler;
  readonly random: SeededRandom;
  /** The rig: hosts, cameras per host, rate, clocks, phase-lock tolerance. */
  readonly spec: RigSpec;
  /** The nodes' local grouping and the server's global grouping (the apps' defaults unless set). */
  readonly nodePolicy: PolicyConfig;
  readonly serverPolicy?: PolicyConfig;
  /** Called for every process start (first start and restarts after a crash). */
  readonly onProcess: (host: SoakHost, process: SimHost, timers: ProcessTimers) => void;
  /** Every event of every server incarnation, with the incarnation's number. */
  readonly onServerEvent: (event: SyncServerEvent, incarnation: number) => void;
  /** Every frame a host's node maps to rig time (the raw frame carries its ground truth). */
  readonly onMapped: (host: SoakHost, raw: Frame, mapped: Frame) => void;
  /** The application's consumer of each host's local groups. */
  readonly onGroup: (host: SoakHost, group: FrameGroup) => void | Promise<void>;
}

/** One host of the soak rig: hardware that persists, and the node process that may crash. */
export interface SoakHost {
  readonly index: number;
  readonly nodeId: string;
  readonly machine: SimMachine;
  readonly network: SimNetwork;
  process: SimHost | undefined;
  timers: ProcessTimers | undefined;
  incarnation: number;
  /** Node-side connections of the running process (a crash aborts them). */
  readonly connections: Set<MessageConnection>;
  /** While a slow-consumer fault lasts: frame periods the application takes per group. */
  slowConsumerFactor: number | undefined;
}

const TOKEN = 'soak';
/** How long a connect attempt to an unreachable (partitioned) server takes to fail, ms. */
const CONNECT_TIMEOUT_MS = 2000;

/**
 * The whole rig of a soak campaign on virtual time: a SyncServer that can crash and
 * come back, and N hosts whose node processes can crash and restart, each with its own
 * link to the server. Everything else is the real server, client and node code.
 */
export class SoakRig {
  readonly hosts: SoakHost[] = [];
  private server: SyncServer | undefined;
  private serverTimers: ProcessTimers | undefined;
  private readonly serverConnections = new Set<MessageConnection>();
  serverIncarnation = 0;

  constructor(private readonly o: SoakRigOptions) {
    for (let h = 0; h < o.spec.hosts; h++) {
      const machine = createSimMachine({ scheduler: o.scheduler, random: o.random, index: h, spec: o.spec });
      const network = new SimNetwork(o.scheduler, o.random.fork(`host${h}`).fork('net'));
      this.hosts.push({
        index: h,
        nodeId: machine.nodeId,
        machine,
        network,
        process: undefined,
        timers: undefined,
        incarnation: -1,
        connections: new Set(),
        slowConsumerFactor: undefined,
      });
    }
    this.startServer();
  }

  get serverUp(): boolean {
    return this.server !== undefined;
  }

  /** Makes a fault happen: what it does to the cameras, clocks, processes and links. */
  beginFault(f: Fault): void {
    const host = f.host === undefined ? undefined : this.hosts[f.host]!;
    const camera = f.camera === undefined ? undefined : host?.process?.cameras[f.camera];
    switch (f.kind) {
      case 'camera-drops':
        camera?.setDropRate(f.magnitude!);
        return;
      case 'camera-stall':
        camera?.stall(f.durationNs);
        return;
      case 'camera-disconnect':
        camera?.disconnect();
        return;
      case 'clock-step':
        host!.machine.rig.stepBy(f.magnitude!);
        return;
      case 'ptp-loss':
        host!.machine.rig.holdoverUntil(this.o.scheduler.nowNs + BigInt(f.durationNs));
        return;
      case 'node-crash':
        this.crashProcess(host!);
        return;
      case 'server-restart':
        this.crashServer();
        return;
      case 'partition':
        host!.network.partition();
        return;
      case 'message-loss':
        host!.network.setLossRate(f.magnitude!);
        return;
      case 'slow-consumer':
        host!.slowConsumerFactor = f.magnitude!;
        return;
    }
  }

  /** Ends a fault: the camera is plugged back, the process or server restarts, the link heals. */
  async endFault(f: Fault): Promise<void> {
    const host = f.host === undefined ? undefined : this.hosts[f.host]!;
    const camera = f.camera === undefined ? undefined : host?.process?.cameras[f.camera];
    switch (f.kind) {
      case 'camera-drops':
        camera?.setDropRate(0);
        return;
      case 'camera-disconnect':
        camera?.reconnect();
        return;
      case 'node-crash':
        await this.startProcess(host!);
        return;
      case 'server-restart':
        this.startServer();
        return;
      case 'partition':
        host!.network.heal();
        return;
      case 'message-loss':
        host!.network.setLossRate(0);
        return;
      case 'slow-consumer':
        host!.slowConsumerFactor = undefined;
        return;
      default:
        // Stalls, steps and holdover end by themselves.
        return;
    }
  }

  /** Starts (or restarts) a host's node process and its capture. */
  async startProcess(host: SoakHost): Promise<void> {
    const { scheduler } = this.o;
    const timers = new ProcessTimers(scheduler.timers);
    host.incarnation++;
    host.timers = timers;
    const process = startSimProcess(host.machine, {
      scheduler,
      spec: this.o.spec,
      policy: this.o.nodePolicy,
      token: TOKEN,
      timers,
      incarnation: host.incarnation,
      connect: () => this.connect(host, timers),
      onGroup: (group) => this.o.onGroup(host, group),
      onMapped: (raw, mapped) => this.o.onMapped(host, raw, mapped),
    });
    host.process = process;
    this.o.onProcess(host, process, timers);
    await process.node.start();
  }

  /** The node process dies: its timers stop, its cameras stop streaming, the kernel closes its sockets. */
  crashProcess(host: SoakHost): void {
    host.timers?.kill();
    for (const camera of host.process?.cameras ?? []) void camera.stop();
    for (const c of host.connections) c.abort('node process died');
    host.connections.clear();
    host.process = undefined;
    host.timers = undefined;
  }

  /** The server process dies: nothing pending in it is flushed; nodes see their connections close. */
  crashServer(): void {
    this.serverTimers?.kill();
    for (const c of this.serverConnections) c.abort('server process died');
    this.serverConnections.clear();
    this.server = undefined;
    this.serverTimers = undefined;
  }

  startServer(): void {
    const timers = new ProcessTimers(this.o.scheduler.timers);
    const incarnation = ++this.serverIncarnation;
    const server = new SyncServer({
      token: TOKEN,
      clock: this.o.scheduler.clock,
      timers,
      policy: this.o.serverPolicy,
      phaseToleranceNs: this.o.spec.phaseToleranceNs,
    });
    server.onEvent((e) => {
      if (this.server === server) this.o.onServerEvent(e, incarnation);
    });
    this.server = server;
    this.serverTimers = timers;
  }

  /** A connect attempt from a host: refused while the server is down, timed out while partitioned. */
  private async connect(host: SoakHost, timers: ProcessTimers): Promise<MessageConnection> {
    if (host.network.isPartitioned) {
      await new Promise<void>((resolve) => this.o.scheduler.after(CONNECT_TIMEOUT_MS * 1e6, resolve));
      throw new SyncapError('E_IO', `connect ETIMEDOUT: ${host.nodeId} cannot reach the server (partitioned)`);
    }
    const server = this.server;
    if (!server) throw new SyncapError('E_IO', 'connect ECONNREFUSED: the server is down');
    if (!timers.alive) throw new SyncapError('E_STATE', 'process is dead');
    const [nodeSide, serverSide] = memoryConnectionPair([host.nodeId, 'server'], host.network.deliverer());
    host.connections.add(nodeSide);
    nodeSide.onClose(() => host.connections.delete(nodeSide));
    this.serverConnections.add(serverSide);
    serverSide.onClose(() => this.serverConnections.delete(serverSide));
    server.accept(serverSide);
    return nodeSide;
  }
}
