/** `corefit lint`: judge a model spec or model.json before any training. */
import { Command } from 'commander';
import { makeOutput } from '../../output.js';
import type { Runner } from '../run.js';

interface LintFlags {
  data?: string;
  strict: boolean;
  json: boolean;
  debug: boolean;
}

export function lintCommand(run: Runner): Command {
  return new Command('lint')
    .description("Check a model spec or tfjs/Keras model.json for mistakes such as the seed question's (softmax output, raw pixels, BCE).")
    .argument('<model>', 'model spec JSON (see examples/) or a tfjs/Keras model.json')
    .option('--data <dir>', 'the data it would train on, to check input ranges and compute the BCE floor (default: MNIST)')
    .option('--strict', 'exit 1 when there are warnings but no errors', false)
    .option('--json', 'print one JSON object per finding, then a summary', false)
    .option('--debug', 'print stack traces of errors', false)
    .action(async (model: string, flags: LintFlags) => {
      await run(
        async () => {
          const out = makeOutput(flags.json);
          const { runLint } = await import('../../lint/lint.js');
          const report = await runLint(model, { dataDir: flags.data, strict: flags.strict });
          for (const note of report.notes) {
            out.record({ type: 'note', message: note });
            out.say(`note: ${note}`);
          }
          for (const f of report.findings) out.record({ type: 'finding', ...f });
          out.record({ type: 'summary', model, findings: report.findings.length, exit_code: report.exitCode });
          out.say(report.text);
          return report.exitCode;
        },
        flags.json,
        flags.debug,
      );
    });
}
