import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * `tetora service`: the daemon as a user service — a systemd user unit on Linux, a launchd agent on
 * macOS. This file is pure (the texts and the parsing); src/cli/commands/service.ts does the I/O.
 */

export interface ServiceSpec {
  /** The daemon's command line: [node, /path/bin/tetora.js] for an npm install, [executable] for the single executable; then serve's arguments. */
  command: string[];
  home: string;
  configPath: string;
  logPath: string;
  drainTimeoutMs: number;
  /** PATH for the daemon (agents' CLIs are found on it): the installing shell's. */
  path: string;
}

/** Seconds a stop may take: the drain timeout, plus a margin for the daemon to record what it interrupted and close. */
export const STOP_MARGIN_S = 30;

export function stopTimeoutSeconds(drainTimeoutMs: number): number {
  return Math.ceil(drainTimeoutMs / 1000) + STOP_MARGIN_S;
}

/** The daemon's command line: how this very process was started (process.execPath-aware). Pure. */
export function daemonCommand(opts: { execPath: string; isSea: boolean; entry: string; configPath: string }): string[] {
  const base = opts.isSea ? [opts.execPath] : [opts.execPath, opts.entry];
  return [...base, '--config', opts.configPath, 'serve', '--log-format', 'json'];
}

/** One argument for ExecStart: quoted when needed; `%` (specifiers) and `$` (variables) escaped. Pure. */
export function systemdQuote(arg: string): string {
  const escaped = arg.replace(/%/g, '%%').replace(/\$/g, '$$$$');
  return /[\s"'\\;]/.test(escaped) || escaped === '' ? `"${escaped.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"` : escaped;
}

/** A value for Environment=: the whole assignment quoted. Pure. */
function envLine(name: string, value: string): string {
  return `Environment=${systemdQuote(`${name}=${value}`)}`;
}

export const UNIT_NAME = 'tetora.service';
export const LAUNCHD_LABEL = 'dev.tetora.daemon';

/** The systemd user unit. Pure. */
export function systemdUnit(s: ServiceSpec): string {
  return `# Written by \`tetora service install\`; \`tetora service uninstall\` removes it.
# The daemon's log: ${s.logPath} (\`tetora logs -f\`); its stderr goes to the journal (\`journalctl --user -u ${UNIT_NAME}\`).
[Unit]
Description=Tetora AI agent orchestrator (home ${s.home})
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
ExecStart=${s.command.map(systemdQuote).join(' ')}
WorkingDirectory=${systemdQuote(s.home)}
${envLine('TETORA_HOME', s.home)}
${envLine('PATH', s.path)}
UMask=0077
Restart=on-failure
RestartSec=5
# Stop: SIGTERM to the daemon alone, which drains (running tasks get drainTimeout, ${Math.ceil(s.drainTimeoutMs / 1000)} s, to finish)
# and interrupts what is left; SIGKILL only after drainTimeout plus a ${STOP_MARGIN_S} s margin. KillMode=process: the
# agents' runs are the daemon's to stop; after a crash (or an upgrade's restart) they keep running and the
# restarted daemon re-attaches to them, as outside systemd.
KillMode=process
KillSignal=SIGTERM
TimeoutStopSec=${stopTimeoutSeconds(s.drainTimeoutMs)}
SendSIGKILL=yes
StandardOutput=journal
StandardError=journal

[Install]
WantedBy=default.target
`;
}

const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The launchd agent (~/Library/LaunchAgents/dev.tetora.daemon.plist). Pure. */
export function launchdPlist(s: ServiceSpec): string {
  const strings = (xs: string[]) => xs.map((x) => `    <string>${xml(x)}</string>`).join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<!-- Written by \`tetora service install\`; the daemon's log: ${xml(s.logPath)} -->
<plist version="1.0">
<dict>
  <key>Label</key>
  <string>${LAUNCHD_LABEL}</string>
  <key>ProgramArguments</key>
  <array>
${strings(s.command)}
  </array>
  <key>WorkingDirectory</key>
  <string>${xml(s.home)}</string>
  <key>EnvironmentVariables</key>
  <dict>
    <key>TETORA_HOME</key>
    <string>${xml(s.home)}</string>
    <key>PATH</key>
    <string>${xml(s.path)}</string>
  </dict>
  <key>RunAtLoad</key>
  <true/>
  <key>KeepAlive</key>
  <dict>
    <key>SuccessfulExit</key>
    <false/>
  </dict>
  <key>ThrottleInterval</key>
  <integer>5</integer>
  <key>ExitTimeOut</key>
  <integer>${stopTimeoutSeconds(s.drainTimeoutMs)}</integer>
  <key>Umask</key>
  <integer>63</integer>
  <key>StandardErrorPath</key>
  <string>${xml(join(s.home, 'logs', 'launchd.err'))}</string>
</dict>
</plist>
`;
}

/** Where the service file goes. Pure. */
export function serviceFile(platform: NodeJS.Platform, env: Record<string, string | undefined>, home = homedir()): string | undefined {
  if (platform === 'linux') return join(env.XDG_CONFIG_HOME || join(home, '.config'), 'systemd', 'user', UNIT_NAME);
  if (platform === 'darwin') return join(home, 'Library', 'LaunchAgents', `${LAUNCHD_LABEL}.plist`);
  return undefined;
}

/** `systemctl show` output (KEY=value lines) → a map. Pure. */
export function parseShow(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}
