import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { ConfigError, isPolicyName, POLICY_NAMES, type PolicyConfig, type PolicyName, parsePolicyConfig } from '@syncap/core';
import { finiteNumber, keyedNonNegativeInt, nonNegativeInt, positiveInt, positiveNumber } from '@syncap/harness';
import { replayTrace } from '@syncap/sim';
import { Command, Option } from 'commander';
import { LineWriter } from '../line-writer.js';

interface ReplayFlags {
  policy: string;
  toleranceNs?: number;
  maxWaitNs?: number;
  queueSize?: number;
  minCameras?: number;
  minIntervalNs?: Record<string, number>;
  maxIntervalNs?: number;
  agePenalty?: number;
  orderIndependent?: boolean;
  epsilonNs?: number;
  pivot?: string;
  stallPeriods?: number;
  thresholdNs?: number;
  fallback?: 'window' | 'approximate';
  flush?: boolean;
}

/** Which flags each policy understands; anything else is a usage error naming the flag. */
const FLAGS_BY_POLICY: Record<PolicyName, ReadonlyArray<keyof ReplayFlags>> = {
  barrier: ['maxWaitNs', 'queueSize'],
  window: ['toleranceNs', 'maxWaitNs', 'minCameras', 'queueSize'],
  approximate: ['maxIntervalNs', 'toleranceNs', 'queueSize', 'minIntervalNs', 'agePenalty', 'orderIndependent'],
  exact: ['queueSize'],
  hybrid: ['thresholdNs', 'fallback', 'toleranceNs', 'maxWaitNs', 'minCameras', 'queueSize'],
  epsilon: ['epsilonNs', 'queueSize'],
  latest: ['pivot', 'stallPeriods'],
};

const FLAG_NAMES: Record<string, string> = {
  toleranceNs: '--tolerance-ns',
  maxWaitNs: '--max-wait-ns',
  queueSize: '--queue-size',
  minCameras: '--min-cameras',
  minIntervalNs: '--min-interval-ns',
  maxIntervalNs: '--max-interval-ns',
  agePenalty: '--age-penalty',
  orderIndependent: '--order-independent',
  epsilonNs: '--epsilon-ns',
  pivot: '--pivot',
  stallPeriods: '--stall-periods',
  thresholdNs: '--threshold-ns',
  fallback: '--fallback',
};

/** Turns replay flags into a policy config, rejecting flags the policy does not take. */
export function policyConfigFromFlags(flags: ReplayFlags): PolicyConfig {
  if (!isPolicyName(flags.policy)) throw new ConfigError(`--policy must be one of ${POLICY_NAMES.join(', ')}; got "${flags.policy}"`);
  const allowed = FLAGS_BY_POLICY[flags.policy];
  for (const key of Object.keys(FLAG_NAMES) as Array<keyof ReplayFlags>) {
    if (flags[key] !== undefined && !allowed.includes(key)) {
      throw new ConfigError(
        `${FLAG_NAMES[key]} does not apply to --policy ${flags.policy} (it takes ${allowed.map((k) => FLAG_NAMES[k]).join(', ') || 'no options'})`,
      );
    }
  }
  const { policy, flush, ...options } = flags;
  void flush;
  const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  // The one policy schema checks values and maps flag names (barrier's --queue-size is maxPendingGroups).
  return parsePolicyConfig({ name: policy, ...given }, 'replay flags');
}

export function replayCommand(): Command {
  return new Command('replay')
    .description('replay a timestamp trace (JSON Lines, DESIGN §6) through a grouping policy; prints one JSON line per group')
    .argument('<trace>', 'trace file (.jsonl); "-" reads standard input')
    .addOption(new Option('--policy <name>', 'grouping policy').choices([...POLICY_NAMES]).makeOptionMandatory())
    .option('--tolerance-ns <ns>', 'largest group span (window, approximate, hybrid fallback)', nonNegativeInt('--tolerance-ns'))
    .option('--max-wait-ns <ns>', 'how long a frame waits for its peers, in frame time (barrier, window, hybrid)', nonNegativeInt('--max-wait-ns'))
    .option('--queue-size <n>', 'frames held per camera (window, approximate, epsilon), timestamps (exact) or groups (barrier)', positiveInt('--queue-size'))
    .option('--min-cameras <n>', 'fewest frames that make a group (window, hybrid)', positiveInt('--min-cameras'))
    .option('--min-interval-ns <cam=ns>', "lower bound on a camera's inter-frame interval (approximate); repeatable", keyedNonNegativeInt('--min-interval-ns'))
    .option(
      '--max-interval-ns <ns>',
      'largest group span, ROS max_interval_duration (approximate; same as --tolerance-ns)',
      nonNegativeInt('--max-interval-ns'),
    )
    .option('--age-penalty <x>', 'ROS age_penalty: how much tighter a later set must be to win (approximate; default 0.1)', finiteNumber('--age-penalty'))
    .option('--order-independent', 'retry the optimality proof on every frame: output independent of arrival order (approximate; not ROS)')
    .option('--epsilon-ns <ns>', "how far after a group's oldest frame its others may be (epsilon; required)", nonNegativeInt('--epsilon-ns'))
    .option('--pivot <camera>', "group on every frame of this camera instead of the fastest camera's (latest)")
    .option('--stall-periods <n>', 'leave out a camera silent for more than n of its frame intervals (latest; not ROS)', positiveNumber('--stall-periods'))
    .option('--threshold-ns <ns>', 'span above which the hybrid falls back (hybrid)', nonNegativeInt('--threshold-ns'))
    .addOption(new Option('--fallback <policy>', "the hybrid's fallback").choices(['window', 'approximate']))
    .option('--flush', 'at the end of the trace, also print groups still pending (marked "flushed": true)')
    .addHelpText(
      'after',
      '\nExamples:\n  syncap-node replay rig.jsonl --policy window --tolerance-ns 2000000 --flush\n  syncap-node replay rig.jsonl --policy epsilon --epsilon-ns 1000000 --queue-size 10\n  syncap-node replay rig.jsonl --policy latest --pivot cam0   (rates from each frame\'s "arrival")',
    )
    .action(async (tracePath: string, flags: ReplayFlags) => {
      const policy = policyConfigFromFlags(flags);
      const input = tracePath === '-' ? process.stdin : await openTrace(tracePath);
      const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
      const out = new LineWriter(process.stdout);
      try {
        await replayTrace(lines, policy, (g) => out.write(g.toJSONLine()), { flush: flags.flush === true });
      } finally {
        // Groups formed before a malformed line are still printed.
        await out.end();
      }
    });
}

async function openTrace(path: string): Promise<NodeJS.ReadableStream> {
  const stream = createReadStream(path);
  await new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', (error: NodeJS.ErrnoException) =>
      reject(new ConfigError(`cannot read trace "${path}": ${error.code === 'ENOENT' ? 'no such file' : error.message}`)),
    );
  });
  return stream;
}
