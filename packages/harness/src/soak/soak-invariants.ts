/** The invariants a soak campaign checks, in the order the summary lists them. */
export const SOAK_INVARIANTS = [
  'no frame in two groups',
  'global groups in time order',
  'every frame grouped or counted lost',
  'spans within tolerance while locked',
  'recovery to lock within bound',
  'queues bounded',
  'heap bounded',
] as const;
export type SoakInvariant = (typeof SOAK_INVARIANTS)[number];

export interface SoakViolation {
  readonly atS: number;
  readonly invariant: string;
  readonly message: string;
}

/** At most this many violations are kept (and logged) per kind; the counts keep them all. */
const MAX_VIOLATIONS_KEPT = 50;

/**
 * Checks and violations per invariant, the first violations themselves, and the
 * high-water mark of every queue the rig has against its bound.
 */
export class SoakInvariants {
  readonly counts = Object.fromEntries(SOAK_INVARIANTS.map((name) => [name, { checks: 0, violations: 0 }])) as Record<
    SoakInvariant,
    { checks: number; violations: number }
  >;
  readonly violations: SoakViolation[] = [];
  readonly queues: Record<string, { max: number; bound: number }> = {};
  /** Set at the first violation when the run should stop there. */
  stopped = false;

  constructor(
    private readonly nowS: () => number,
    private readonly onViolation: (invariant: SoakInvariant, message: string) => void,
    private readonly stopOnViolation = false,
  ) {}

  check(invariant: SoakInvariant, times = 1): void {
    this.counts[invariant].checks += times;
  }

  violate(invariant: SoakInvariant, message: string): void {
    const count = ++this.counts[invariant].violations;
    if (this.violations.length < MAX_VIOLATIONS_KEPT) this.violations.push({ atS: this.nowS(), invariant, message });
    // The log keeps the first few of each kind; the counts keep them all.
    if (count <= MAX_VIOLATIONS_KEPT) this.onViolation(invariant, message);
    if (this.stopOnViolation) this.stopped = true;
  }

  /** One reading of a queue: its high-water mark is kept, and a level over its bound is a violation. */
  noteQueue(name: string, level: number, bound: number): void {
    const q = this.queues[name] ?? { max: 0, bound };
    this.queues[name] = q;
    if (level > q.max) q.max = level;
    this.check('queues bounded');
    if (level > bound) this.violate('queues bounded', `${name} holds ${level}, over its bound ${bound}`);
  }

  /** The heap after each virtual hour must stay within 1.1 × what it was after the first (which includes warm-up). */
  checkHeap(heapMiBByHour: readonly number[]): void {
    if (heapMiBByHour.length < 2) return;
    this.check('heap bounded');
    const first = heapMiBByHour[0]!;
    const now = heapMiBByHour.at(-1)!;
    if (now > first * 1.1) this.violate('heap bounded', `heap after ${heapMiBByHour.length} h is ${now} MiB, over 1.1 × ${first} MiB after 1 h`);
  }

  get ok(): boolean {
    return this.violations.length === 0 && Object.values(this.counts).every((c) => c.violations === 0);
  }
}
