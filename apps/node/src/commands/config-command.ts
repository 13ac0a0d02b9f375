import { Command } from 'commander';
import { loadRigConfig } from '../rig-config.js';

/** `syncap-node config <rig.yaml>`: validates a rig config and prints it with every default filled in. */
export function configCommand(): Command {
  return new Command('config')
    .description('check a rig config: print it as JSON with the defaults filled in, or name each key that is wrong')
    .argument('<rig.yaml>', 'the rig config (see examples/rig.yaml)')
    .action((path: string) => {
      process.stdout.write(`${JSON.stringify(loadRigConfig(path), null, 2)}\n`);
    });
}
