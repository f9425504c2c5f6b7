/** `corefit dashboard --run DIR`: the dashboard of a finished run, from what `train --out` wrote. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { makeOutput } from '../../output.js';
import type { Runner } from '../run.js';
import { port } from '../parse.js';

interface DashboardFlags {
  run?: string;
  checkpoint?: string;
  port?: number;
  host?: string;
  json: boolean;
  debug: boolean;
}

export function dashboardCommand(run: Runner): Command {
  return new Command('dashboard')
    .description('Serve the read-only dashboard of a finished run from its --out folder (history.json and pictures) until Ctrl-C.')
    .option('--run <dir>', 'the folder `corefit train --out DIR` wrote')
    .option('--checkpoint <dir>', 'the same as --run')
    .option('--port <n>', 'the port (default: any free one)', port)
    .option('--host <address>', 'the address to serve on (default 127.0.0.1; anything else shows the run to the network, see README)')
    .option('--json', 'print the URL as one JSON object', false)
    .option('--debug', 'print stack traces of errors', false)
    .action(async (flags: DashboardFlags) => {
      await run(
        async () => {
          const out = makeOutput(flags.json);
          if (flags.run !== undefined && flags.checkpoint !== undefined && flags.run !== flags.checkpoint) {
            throw new UsageError('--run and --checkpoint name the same thing; give one of them');
          }
          const dir = flags.run ?? flags.checkpoint;
          if (dir === undefined) throw new UsageError('corefit dashboard needs --run DIR', 'Give the folder that `corefit train --out DIR` wrote.');
          const [{ readHistoryFile }, { RunView, PAGE_PICTURES }, { startDashboard }] = await Promise.all([
            import('../../train/history-file.js'),
            import('../../dashboard/run-view.js'),
            import('../../dashboard/server.js'),
          ]);
          const history = await readHistoryFile(dir);
          const pictures = new Map<(typeof PAGE_PICTURES)[number], Buffer>();
          for (const name of PAGE_PICTURES) {
            const png = await readFile(join(dir, name)).catch(() => undefined);
            if (png !== undefined) pictures.set(name, png);
          }
          const dashboard = await startDashboard({ view: RunView.finished(history, dir, pictures), host: flags.host, port: flags.port });
          out.say(`dashboard of ${dir} (${history.epochs.length} epochs): ${dashboard.url}  (Ctrl-C to stop)`);
          out.record({ type: 'dashboard', url: dashboard.url, run: dir, epochs: history.epochs.length });
          await new Promise<void>((resolve) => {
            process.once('SIGINT', resolve);
            process.once('SIGTERM', resolve);
          });
          await dashboard.close();
          return 0;
        },
        flags.json,
        flags.debug,
      );
    });
}
