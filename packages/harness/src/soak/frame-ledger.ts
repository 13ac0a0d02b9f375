/**
 * Follows every frame of a soak run from exposure to its end: grouped into a global
 * group, or lost with a named cause. It is the oracle behind "no frame in two groups"
 * and "every frame grouped or counted as lost": frames the system itself counts as
 * lost (discards, dropped groups, backlog overflow) are resolved from its events; what
 * dies with a crashed process is attributed by the harness, which knows of the crash.
 * Memory is bounded by the frames in flight: resolved frames are kept only a while,
 * to catch a second grouping.
 */

/** Why a frame never reached a global group. */
export type LossCause =
  | 'camera:drop'
  | 'camera:stall'
  | 'camera:no-buffer'
  | 'camera:disconnected'
  | `node-discard:${string}`
  | 'consumer-overflow'
  | 'backlog-overflow'
  | `server-discard:${string}`
  | 'node-crash'
  | 'server-crash'
  /** Mapped to the same rig instant as an earlier frame of its camera (only a clock step can do that). */
  | 'same-instant'
  /** Never resolved: an invariant violation, counted so the totals still add up. */
  | 'unaccounted';

type State = 'captured' | 'local-grouped';

interface Entry {
  readonly node: string;
  readonly truthNs: bigint;
  readonly capturedAtNs: bigint;
  state: State;
  /** Set when a crash may have taken it: the cause it is lost to if it does not resolve by `deadlineNs`. */
  orphan?: { cause: 'node-crash' | 'server-crash'; deadlineNs: bigint };
}

interface Resolved {
  readonly atNs: bigint;
  readonly outcome: 'grouped' | LossCause;
  readonly serverIncarnation: number;
}

export interface LedgerViolation {
  readonly invariant: 'no frame in two groups' | 'every frame grouped or counted lost';
  readonly message: string;
}

export interface LedgerOptions {
  /** A frame must reach its end this long after capture (or after the last disruption of its path), ns. */
  readonly resolveWithinNs: number;
  /** How long resolved frames are remembered to catch a second grouping, ns. */
  readonly rememberNs: number;
  readonly onViolation: (v: LedgerViolation) => void;
}

export class FrameLedger {
  private readonly open = new Map<string, Entry>();
  private readonly resolved = new Map<string, Resolved>();
  /** Frames that reached each end. */
  readonly outcomes = {
    exposed: 0,
    grouped: 0,
    inIncompleteGroups: 0,
    lost: {} as Record<string, number>,
    /** Frames a restarted server processed again (its predecessor died before acknowledging them). */
    regroupedAfterServerRestart: 0,
  };
  /** Most frames in flight at once (a bounded-memory check). */
  highWater = 0;

  constructor(private readonly options: LedgerOptions) {}

  static key(cameraId: string, rigTimeNs: bigint): string {
    return `${cameraId}@${rigTimeNs}`;
  }

  get inFlight(): number {
    return this.open.size;
  }

  /** An exposure the camera reported lost (never delivered). */
  exposedAndLost(cause: LossCause): void {
    this.outcomes.exposed++;
    this.count(cause);
  }

  /** A frame reached the node process (mapped to rig time). `cameraId` is `node/camera`. */
  captured(node: string, cameraId: string, rigTimeNs: bigint, truthNs: bigint, nowNs: bigint): void {
    this.outcomes.exposed++;
    const key = FrameLedger.key(cameraId, rigTimeNs);
    if (this.open.has(key) || this.resolved.has(key)) {
      // Two exposures mapped to one instant (a clock step can do it): keep the first; count this one.
      this.count('same-instant');
      return;
    }
    this.open.set(key, { node, truthNs, capturedAtNs: nowNs, state: 'captured' });
    if (this.open.size > this.highWater) this.highWater = this.open.size;
  }

  /** The node's application received a local group containing this frame. */
  locallyGrouped(cameraId: string, rigTimeNs: bigint): void {
    const key = FrameLedger.key(cameraId, rigTimeNs);
    const e = this.open.get(key);
    if (!e) this.violation('no frame in two groups', `${key} reached the application in a second local group, or was never captured`);
    else if (e.state !== 'captured') this.violation('no frame in two groups', `${key} is in two local groups`);
    else e.state = 'local-grouped';
  }

  /** The frame's life ended without a global group. */
  lost(cameraId: string, rigTimeNs: bigint, cause: LossCause, nowNs: bigint, serverIncarnation: number): void {
    const key = FrameLedger.key(cameraId, rigTimeNs);
    if (!this.open.has(key)) return; // told twice (a report dropped after the server had it): the first end stands
    this.resolve(key, cause, nowNs, serverIncarnation);
  }

  /** A global group holds this frame; returns its ground-truth exposure instant, if known. */
  globallyGrouped(cameraId: string, rigTimeNs: bigint, complete: boolean, nowNs: bigint, serverIncarnation: number): bigint | undefined {
    const key = FrameLedger.key(cameraId, rigTimeNs);
    const e = this.open.get(key);
    if (e) {
      if (!complete) this.outcomes.inIncompleteGroups++;
      this.resolve(key, 'grouped', nowNs, serverIncarnation);
      return e.truthNs;
    }
    const before = this.resolved.get(key);
    if (before && before.serverIncarnation < serverIncarnation) {
      // A restarted server cannot know what its predecessor did with reports it had not
      // acknowledged: they come again. Grouped twice is counted; discarded by the dead server
      // and grouped by its successor ends as grouped. Not a violation of one server's output.
      this.outcomes.regroupedAfterServerRestart++;
      if (before.outcome !== 'grouped') {
        this.outcomes.lost[before.outcome]!--;
        this.outcomes.grouped++;
        this.resolved.set(key, { ...before, outcome: 'grouped', serverIncarnation });
      }
      return undefined;
    }
    this.violation(
      'no frame in two groups',
      before
        ? `${key} is in a global group after it was already ${before.outcome === 'grouped' ? 'grouped' : `lost (${before.outcome})`}`
        : `${key} is in a global group but was never captured`,
    );
    return undefined;
  }

  /** A node process died: what it held is lost; what it had reported may still reach the server. */
  nodeCrashed(node: string, nowNs: bigint, graceNs: number, serverIncarnation: number): void {
    for (const [key, e] of this.open) {
      if (e.node !== node) continue;
      if (e.state === 'captured') this.resolve(key, 'node-crash', nowNs, serverIncarnation);
      else e.orphan = { cause: 'node-crash', deadlineNs: nowNs + BigInt(graceNs) };
    }
  }

  /** The server died: reports it held are lost, unless a node sends them again (unacknowledged). */
  serverCrashed(nowNs: bigint, graceNs: number): void {
    for (const e of this.open.values()) if (e.state === 'local-grouped' && !e.orphan) e.orphan = { cause: 'server-crash', deadlineNs: nowNs + BigInt(graceNs) };
  }

  /**
   * Ends frames overdue: orphans become losses to their crash; any other frame still open
   * `resolveWithinNs` after both its capture and the last disruption of its node's path
   * (`disruptedUntilNs(node)`, +∞ while one lasts) is a violation. Also forgets old resolved frames.
   */
  sweep(nowNs: bigint, disruptedUntilNs: (node: string) => bigint, serverIncarnation: number): void {
    const within = BigInt(this.options.resolveWithinNs);
    for (const [key, e] of this.open) {
      const disrupted = disruptedUntilNs(e.node);
      const since = e.capturedAtNs > disrupted ? e.capturedAtNs : disrupted;
      if (nowNs <= since + within) continue;
      if (e.orphan) {
        // Its path may still deliver it (a partitioned node's backlog): only past both deadlines is it the crash's.
        if (nowNs >= e.orphan.deadlineNs) this.resolve(key, e.orphan.cause, nowNs, serverIncarnation);
      } else {
        this.violation(
          'every frame grouped or counted lost',
          `${key} (${e.state}) was neither grouped nor counted lost ${Number(nowNs - e.capturedAtNs) / 1e9} s after capture`,
        );
        this.resolve(key, 'unaccounted', nowNs, serverIncarnation);
      }
    }
    const forgetBefore = nowNs - BigInt(this.options.rememberNs);
    for (const [key, r] of this.resolved) {
      if (r.atNs >= forgetBefore) break; // insertion order is resolution order
      this.resolved.delete(key);
    }
  }

  private resolve(key: string, outcome: Resolved['outcome'], nowNs: bigint, serverIncarnation: number): void {
    this.open.delete(key);
    this.resolved.set(key, { atNs: nowNs, outcome, serverIncarnation });
    if (outcome === 'grouped') this.outcomes.grouped++;
    else this.count(outcome);
  }

  private count(cause: LossCause): void {
    this.outcomes.lost[cause] = (this.outcomes.lost[cause] ?? 0) + 1;
  }

  private violation(invariant: LedgerViolation['invariant'], message: string): void {
    this.options.onViolation({ invariant, message });
  }
}
