import type { Command } from 'commander';
import { printJson } from '../context.js';
import { loadForCommand } from '../context.js';

/**
 * `tetora dashboard`: opens the daemon's web dashboard in the browser (when this machine has a display), or
 * prints its URL. `--print` only prints the URL; `--json` prints {url}. Neither needs a running daemon;
 * opening checks first that one answers, so the browser does not land on an error page.
 */
export function registerDashboard(program: Command): void {
  program
    .command('dashboard')
    .description("open the daemon's web dashboard in the browser (or print its URL where there is no display)")
    .option('--print', 'print the URL only; open nothing')
    .option('--json', 'print {url} as JSON; open nothing')
    .addHelpText(
      'after',
      `
The dashboard is served by the daemon itself at http://<listenAddr>/dashboard (every asset included: it
works offline). With an apiToken in the config the page asks for it once and keeps a session cookie for
7 days; without one (loopback only) there is no login. The browser is opened with $BROWSER, open (macOS)
or xdg-open (Linux with DISPLAY or WAYLAND_DISPLAY set); otherwise the URL is printed.`,
    )
    .action(async (opts: { print?: boolean; json?: boolean }, cmd: Command) => {
      const { dashboardUrl, opener } = await import('../dashboard-url.js');
      const { config } = await loadForCommand(cmd);
      const url = dashboardUrl(config.listenHost, config.listenPort);
      if (opts.json) return printJson({ url });
      if (opts.print) return void process.stdout.write(`${url}\n`);
      // A daemon must answer, or the browser would show a connection error instead of the dashboard.
      const { DaemonClient } = await import('../client.js');
      const client = new DaemonClient(config, { idleTimeoutMs: 10_000 });
      const health = await client.raw('GET', '/healthz');
      health.close();
      const how = opener(process.platform, process.env, url);
      if ('none' in how) {
        process.stdout.write(`${url}\n`);
        process.stderr.write(`tetora: ${how.none}; open the URL above in a browser${config.apiToken ? ' and log in with the apiToken from the config' : ''}.\n`);
        return;
      }
      const started = await startDetached(how.file, how.args);
      if (started !== true) {
        process.stdout.write(`${url}\n`);
        process.stderr.write(`tetora: could not start ${how.file} (${started}); open the URL above in a browser.\n`);
        return;
      }
      process.stdout.write(`opening ${url}\n`);
    });
}

/** Starts a program detached from this one; true once it runs, or why it could not start. */
async function startDetached(file: string, args: string[]): Promise<true | string> {
  const { spawn } = await import('node:child_process');
  return new Promise((resolve) => {
    const child = spawn(file, args, { detached: true, stdio: 'ignore' });
    child.once('error', (err) => resolve(err.message));
    child.once('spawn', () => {
      child.unref();
      resolve(true);
    });
  });
}
