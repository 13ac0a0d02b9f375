import { ConfigError } from './errors.js';
import type { Frame } from './frame.js';
import { type CameraSpec, GroupIdCounter, PolicyBase, type PolicyOutput } from './grouping-policy.js';
import { SharedFrameData } from './shared-frame-data.js';

export interface LatestPolicyOptions {
  /**
   * Group on every frame of this camera. Default: as ROS, the fastest camera by the rates
   * measured on arrival, skipping one that is late by its own rate.
   */
  readonly pivot?: string;
  /** ROS rate_ema_alpha: weight of the newest interval in the rate estimate. Default 0.9. */
  readonly rateEmaAlpha?: number;
  /** ROS error_ema_alpha: weight of the newest deviation in the rate's error estimate. Default 0.3. */
  readonly errorEmaAlpha?: number;
  /** ROS rate_step_change_margin_factor: a deviation past this many errors is a rate change (or lateness). Default 10. */
  readonly rateStepChangeMargin?: number;
  /**
   * Not ROS: a camera silent for more than this many of its own frame intervals (by its
   * measured rate) is stalled — never the pivot, and left out of groups (which then name
   * it in `missing`) until it delivers again. ROS repeats a stopped camera's last frame in
   * every group forever, and trusts a camera whose rate has just been re-estimated as
   * pivot even if it never delivers again — so when every camera slows down at once it
   * can stop emitting. With this set, a group is emitted on each frame of the fastest
   * camera that is not stalled. Default: unset (ROS).
   */
  readonly stallPeriods?: number;
}

const ROS_RATE_EMA_ALPHA = 0.9;
const ROS_ERROR_EMA_ALPHA = 0.3;
const ROS_MARGIN = 10;
const NO_PIVOT = -1;

/** The latest frame of a camera, and who holds it. */
interface Latest {
  readonly frame: Frame;
  /** Set once the frame is in a group: its data is then shared by the policy and each group. */
  shared: SharedFrameData | undefined;
  grouped: boolean;
}

/**
 * ROS 2 message_filters LatestTime, for mixed-rate rigs: a group each time the pivot
 * camera delivers, holding the latest frame of every camera (a zero-order hold of the
 * slower ones). The pivot is the fastest camera by rates estimated on arrival times (each
 * frame's `arrivalNs`, else its `rigTimeNs`) with ROS's filters: an exponential moving
 * average of 1/interval, a moving error, and a reset when an interval deviates by more
 * than the margin × error. Groups start once every camera has delivered a frame; a camera
 * is the pivot only from its second frame on (it needs a rate).
 *
 * Frames are reused across groups: a frame stays in every group until its camera delivers
 * a newer one. Zero-copy data is shared, not copied: each group gets its own handle on a
 * member's data, and `FrameGroup.release()` gives up that group's share only; the buffer
 * goes back to its driver when the policy has superseded the frame and every group
 * holding it has been released. A frame superseded before any group took it is discarded
 * (stale) and released as usual. A group's members are therefore distinct Frame objects
 * per group for frames with data (same camera, seq and times).
 *
 * Unlike ROS, rates are kept per camera (ROS 2 files them in order of first arrival and
 * reads them by input position, mixing cameras up when their first frames arrive out of
 * that order).
 */
export class LatestPolicy extends PolicyBase {
  readonly name = 'latest' as const;
  private readonly latest: Array<Latest | undefined>;
  private readonly fixedPivot: number;
  private readonly rateAlpha: number;
  private readonly errorAlpha: number;
  private readonly margin: number;
  private readonly stallPeriods: number | undefined;
  private readonly prevArrival: Float64Array;
  private readonly hz: Float64Array;
  private readonly error: Float64Array;
  private readonly hzInit: boolean[];
  private readonly errorInit: boolean[];
  /** Camera indices by decreasing rate (scratch for the pivot choice). */
  private readonly byRate: number[];
  private delivered = 0;
  private held = 0;

  constructor(cameras: readonly CameraSpec[], out: PolicyOutput, options: LatestPolicyOptions = {}, ids?: GroupIdCounter) {
    super(cameras, out, ids ?? new GroupIdCounter());
    const n = cameras.length;
    if (options.pivot !== undefined) {
      const i = this.cameraIndex.get(options.pivot);
      if (i === undefined) throw new ConfigError(`pivot names camera "${options.pivot}", which is not in the rig (${this.cameraIds.join(', ')})`);
      this.fixedPivot = i;
    } else {
      this.fixedPivot = NO_PIVOT;
    }
    this.rateAlpha = fraction('rateEmaAlpha', options.rateEmaAlpha ?? ROS_RATE_EMA_ALPHA);
    this.errorAlpha = fraction('errorEmaAlpha', options.errorEmaAlpha ?? ROS_ERROR_EMA_ALPHA);
    this.margin = positive('rateStepChangeMargin', options.rateStepChangeMargin ?? ROS_MARGIN);
    this.stallPeriods = options.stallPeriods === undefined ? undefined : positive('stallPeriods', options.stallPeriods);
    this.latest = new Array<Latest | undefined>(n).fill(undefined);
    this.prevArrival = new Float64Array(n);
    this.hz = new Float64Array(n);
    this.error = new Float64Array(n);
    this.hzInit = new Array<boolean>(n).fill(true);
    this.errorInit = new Array<boolean>(n).fill(true);
    this.byRate = Array.from({ length: n }, (_, i) => i);
  }

  /** Frames held that no group has taken yet. */
  get pendingFrames(): number {
    return this.held;
  }

  /** The measured rate of each camera, Hz (0 until it has two frames). */
  ratesHz(): Record<string, number> {
    return Object.fromEntries(this.cameraIds.map((id, i) => [id, this.hz[i]!]));
  }

  push(frame: Frame): void {
    const cam = this.admit(frame);
    if (cam < 0) return;
    const now = this.rel(frame.arrivalNs ?? frame.rigTimeNs);
    const previous = this.latest[cam];
    this.latest[cam] = { frame, shared: undefined, grouped: false };
    this.held++;
    if (previous === undefined) {
      // First frame of this camera: start its rate; it publishes from its second frame on.
      this.delivered++;
      this.prevArrival[cam] = now;
      if (cam === this.fixedPivot) this.publishIfFull(cam, now);
      return;
    }
    this.letGo(previous);
    const validRate = this.updateRate(cam, now);
    if (this.fixedPivot !== NO_PIVOT) {
      if (cam === this.fixedPivot) this.publishIfFull(cam, now);
    } else if (validRate && this.choosePivot(now) === cam) {
      this.publishIfFull(cam, now);
    }
  }

  protected onAdvance(): void {
    // Groups come with the pivot's frames; time alone forms none.
  }

  flush(): void {
    for (let c = 0; c < this.latest.length; c++) {
      const l = this.latest[c];
      this.latest[c] = undefined;
      if (l) this.letGo(l);
    }
    this.delivered = 0;
  }

  /** Returns the held frames no group has taken; the policy's share of the others is given up. */
  drainPending(): Frame[] {
    const frames: Frame[] = [];
    for (let c = 0; c < this.latest.length; c++) {
      const l = this.latest[c];
      this.latest[c] = undefined;
      if (l === undefined) continue;
      if (l.grouped) l.shared?.drop();
      else frames.push(l.frame);
    }
    this.held = 0;
    this.delivered = 0;
    return frames;
  }

  /** Lets go of a frame the policy no longer holds: discarded if no group took it, else the policy's share dropped. */
  private letGo(l: Latest): void {
    if (l.grouped) {
      l.shared?.drop();
    } else {
      this.held--;
      this.out.discard(l.frame, 'stale');
    }
  }

  private publishIfFull(pivot: number, now: number): void {
    if (this.delivered < this.latest.length) return;
    const members: Frame[] = [];
    for (let c = 0; c < this.latest.length; c++) {
      if (c !== pivot && this.isStalled(c, now)) continue;
      members.push(this.member(this.latest[c]!));
    }
    this.emit(members);
  }

  /** The frame as one more group holds it: with data, a copy carrying its own share. */
  private member(l: Latest): Frame {
    if (!l.grouped) {
      l.grouped = true;
      this.held--;
    }
    const data = l.frame.data;
    if (data === undefined) return l.frame;
    l.shared ??= new SharedFrameData(data);
    return { ...l.frame, data: l.shared.handle() };
  }

  private isStalled(c: number, now: number): boolean {
    if (this.stallPeriods === undefined || !(this.hz[c]! > 0)) return false;
    return (now - this.prevArrival[c]!) / 1e9 > this.stallPeriods / this.hz[c]!;
  }

  /** ROS LatestTime's Rate::compute_hz: false when the interval is not positive (the rate is then kept). */
  private updateRate(c: number, now: number): boolean {
    const period = (now - this.prevArrival[c]!) / 1e9;
    if (!(period > 0)) return false;
    for (;;) {
      if (this.hzInit[c]) {
        this.hz[c] = 1 / period;
        this.hzInit[c] = false;
        break;
      }
      const deviation = Math.abs(this.hz[c]! - 1 / period);
      if (this.errorInit[c]) {
        this.error[c] = deviation;
        this.errorInit[c] = false;
      } else if (deviation > this.margin * this.error[c]!) {
        // A step change in rate: estimate it afresh from this interval.
        this.hzInit[c] = true;
        this.errorInit[c] = true;
        continue;
      } else {
        this.error[c] = this.errorAlpha * deviation + (1 - this.errorAlpha) * this.error[c]!;
      }
      this.hz[c] = this.rateAlpha / period + (1 - this.rateAlpha) * this.hz[c]!;
      break;
    }
    this.prevArrival[c] = now;
    return true;
  }

  /** ROS LatestTime's find_pivot: the fastest camera that has a rate and is not late (or, with stallPeriods, not stalled). */
  private choosePivot(now: number): number {
    const order = this.byRate;
    const hz = this.hz;
    // Stable insertion sort by decreasing rate (few cameras; ROS uses std::stable_sort).
    for (let i = 0; i < order.length; i++) order[i] = i;
    for (let i = 1; i < order.length; i++) {
      const c = order[i]!;
      let j = i - 1;
      while (j >= 0 && hz[order[j]!]! < hz[c]!) {
        order[j + 1] = order[j]!;
        j--;
      }
      order[j + 1] = c;
    }
    for (const c of order) {
      if (!(hz[c]! > 0)) continue;
      const period = (now - this.prevArrival[c]!) / 1e9;
      if (this.stallPeriods !== undefined) {
        if (period * hz[c]! > this.stallPeriods) continue;
        return c;
      }
      if (period === 0) return c;
      // Late by its own rate: skipped. ROS judges this only once the camera's error is estimated.
      if (!this.errorInit[c] && hz[c]! - 1 / period > this.margin * this.error[c]!) continue;
      return c;
    }
    return NO_PIVOT;
  }
}

function fraction(name: string, value: number): number {
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) throw new ConfigError(`${name} must be a number from 0 to 1, got ${value}`);
  return value;
}

function positive(name: string, value: number): number {
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) throw new ConfigError(`${name} must be a positive number, got ${value}`);
  return value;
}
