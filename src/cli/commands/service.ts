import type { Command } from 'commander';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname } from 'node:path';
import { TetoraError } from '../../errors.js';
import { LAUNCHD_LABEL, UNIT_NAME, daemonCommand, launchdPlist, parseShow, serviceFile, systemdUnit, type ServiceSpec } from '../../ops/service.js';
import { writePrivateFile } from '../../util/fsx.js';
import { DaemonClient } from '../client.js';
import { loadForCommand, printJson } from '../context.js';

/** `tetora service install|uninstall|status`: the daemon as a systemd user unit (Linux) or launchd agent (macOS). */

async function isSea(): Promise<boolean> {
  try {
    const sea = (await import('node:sea' as string)) as { isSea?: () => boolean };
    return sea.isSea?.() ?? false;
  } catch {
    return false;
  }
}

function platformFile(): string {
  const file = serviceFile(process.platform, process.env);
  if (!file) throw new TetoraError('TET_ERR_SERVICE', `tetora service supports Linux (systemd) and macOS (launchd), not ${process.platform}; run \`tetora serve\` under your own supervisor.`, { platform: process.platform });
  return file;
}

/** Run the service manager; throws TET_ERR_SERVICE with its own message when it fails. */
function manager(cmd: string, args: string[], what: string, allowFail = false): { ok: boolean; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 30_000 });
  const ok = r.status === 0;
  const stderr = r.error ? `${r.error.message}` : r.stderr.trim();
  if (!ok && !allowFail) {
    throw new TetoraError('TET_ERR_SERVICE', `\`${cmd} ${args.join(' ')}\` failed (${what}): ${stderr || `exit ${r.status}`}. ${cmd === 'systemctl' ? 'A user systemd must run for this user (`systemctl --user status`; on a server `loginctl enable-linger $USER`).' : ''}`.trim(), {
      command: [cmd, ...args],
    });
  }
  return { ok, stdout: r.stdout ?? '', stderr };
}

async function spec(cmd: Command): Promise<ServiceSpec> {
  const { config } = await loadForCommand(cmd);
  const entry = realpathSync(fileURLToPath(new URL('../../../bin/tetora.js', import.meta.url)));
  return {
    command: daemonCommand({ execPath: process.execPath, isSea: await isSea(), entry, configPath: config.configPath }),
    home: config.home,
    configPath: config.configPath,
    logPath: config.logFile.path,
    drainTimeoutMs: config.drainTimeoutMs,
    path: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
  };
}

export function registerService(program: Command): void {
  const svc = program.command('service').description('run the daemon as a user service: a systemd user unit on Linux, a launchd agent on macOS');

  svc
    .command('install')
    .description(`write the service (${UNIT_NAME} / ${LAUNCHD_LABEL}.plist), enable it and start it`)
    .option('--no-start', 'write the file only (and say how to start it)')
    .option('--print', 'print the file; write nothing')
    .option('--json', 'print JSON')
    .action(async (opts: { start: boolean; print?: boolean; json?: boolean }, cmd: Command) => {
      const file = platformFile();
      const s = await spec(cmd);
      const text = process.platform === 'darwin' ? launchdPlist(s) : systemdUnit(s);
      if (opts.print) {
        if (opts.json) return printJson({ file, content: text });
        process.stdout.write(text);
        return;
      }
      mkdirSync(dirname(file), { recursive: true });
      writePrivateFile(file, text);
      const steps: string[] = [];
      if (opts.start) {
        if (process.platform === 'darwin') {
          manager('launchctl', ['bootout', `gui/${process.getuid?.()}/${LAUNCHD_LABEL}`], 'stop the old agent', true);
          manager('launchctl', ['bootstrap', `gui/${process.getuid?.()}`, file], 'load the agent');
          steps.push('launchctl bootstrap');
        } else {
          manager('systemctl', ['--user', 'daemon-reload'], 'reload the units');
          manager('systemctl', ['--user', 'enable', '--now', UNIT_NAME], 'enable and start the unit');
          steps.push('systemctl --user daemon-reload', `systemctl --user enable --now ${UNIT_NAME}`);
        }
      }
      const start = process.platform === 'darwin' ? `launchctl bootstrap gui/$(id -u) ${file}` : `systemctl --user daemon-reload && systemctl --user enable --now ${UNIT_NAME}`;
      if (opts.json) return printJson({ file, started: opts.start, command: s.command, logPath: s.logPath });
      process.stdout.write(
        `wrote ${file}\n  runs   ${s.command.join(' ')}\n  log    ${s.logPath} (tetora logs -f)\n${opts.start ? `  started (${steps.join('; ')}); \`tetora service status\` shows it\n` : `  not started; start it with: ${start}\n`}`,
      );
    });

  svc
    .command('uninstall')
    .description('stop the service (the daemon drains), disable it and remove its file')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => {
      const file = platformFile();
      const existed = existsSync(file);
      if (existed) {
        if (process.platform === 'darwin') manager('launchctl', ['bootout', `gui/${process.getuid?.()}/${LAUNCHD_LABEL}`], 'stop the agent', true);
        else manager('systemctl', ['--user', 'disable', '--now', UNIT_NAME], 'stop and disable the unit', true);
        rmSync(file, { force: true });
        if (process.platform !== 'darwin') manager('systemctl', ['--user', 'daemon-reload'], 'reload the units', true);
      }
      if (opts.json) return printJson({ file, removed: existed });
      process.stdout.write(existed ? `stopped and removed ${file}\n` : `no service is installed (${file} does not exist)\n`);
    });

  svc
    .command('status')
    .description("the service manager's view (installed, enabled, active, pid, restarts) and the daemon's health")
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const file = platformFile();
      const { config } = await loadForCommand(cmd);
      const installed = existsSync(file);
      let managerView: Record<string, string> = {};
      let managerError: string | undefined;
      if (installed && process.platform === 'darwin') {
        const r = manager('launchctl', ['print', `gui/${process.getuid?.()}/${LAUNCHD_LABEL}`], 'read the agent', true);
        if (r.ok) {
          for (const m of r.stdout.matchAll(/^\s*(state|pid|last exit code|runs) = (.*)$/gm)) managerView[m[1] as string] = (m[2] as string).trim();
        } else managerError = r.stderr;
      } else if (installed) {
        const r = manager('systemctl', ['--user', 'show', UNIT_NAME, '--property=LoadState,UnitFileState,ActiveState,SubState,MainPID,NRestarts,ExecMainStatus,ActiveEnterTimestamp'], 'read the unit', true);
        if (r.ok) managerView = parseShow(r.stdout);
        else managerError = r.stderr;
      }
      let health: Record<string, unknown> | undefined;
      let healthError: string | undefined;
      try {
        health = (await new DaemonClient(config).json<Record<string, unknown>>('GET', '/api/health')).body;
      } catch (err) {
        healthError = (err as Error).message;
      }
      if (opts.json) return printJson({ file, installed, content: installed ? readFileSync(file, 'utf8') : null, manager: managerView, managerError: managerError ?? null, health: health ?? null, healthError: healthError ?? null });
      const lines = [`service   ${installed ? file : `not installed (\`tetora service install\` writes ${file})`}`];
      if (installed) {
        if (managerError) lines.push(`manager   cannot ask it: ${managerError}`);
        else for (const [k, v] of Object.entries(managerView)) lines.push(`          ${k}=${v}`);
      }
      const sched = health?.scheduler as { running?: number; queued?: number } | undefined;
      lines.push(health ? `daemon    ${String(health.status)} (version ${String(health.version)}, ${sched?.running ?? 0} running, ${sched?.queued ?? 0} queued)` : `daemon    not answering: ${healthError}`);
      lines.push(`log       ${config.logFile.path}`);
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
