/**
 * `tetora dashboard`, pure parts: the dashboard's URL from the config, and the program that opens a URL
 * in the browser on this platform, when there is a display to open it on.
 */

/** The dashboard's URL: the address the CLI reaches the daemon at (0.0.0.0 → 127.0.0.1, :: → ::1), path /dashboard. */
export function dashboardUrl(listenHost: string, listenPort: number): string {
  const host = listenHost === '0.0.0.0' ? '127.0.0.1' : listenHost === '::' ? '::1' : listenHost;
  return `http://${host.includes(':') ? `[${host}]` : host}:${listenPort}/dashboard`;
}

/**
 * The command that opens `url` in the user's browser, or why there is none: macOS `open`; Windows
 * `cmd /c start`; elsewhere `xdg-open`, only with a graphical session (DISPLAY or WAYLAND_DISPLAY) —
 * over SSH or on a server the URL is printed instead. `BROWSER` (as many tools read it) wins where set.
 */
export function opener(platform: NodeJS.Platform, env: NodeJS.ProcessEnv, url: string): { file: string; args: string[] } | { none: string } {
  if (env.BROWSER) return { file: env.BROWSER, args: [url] };
  if (platform === 'darwin') return { file: 'open', args: [url] };
  if (platform === 'win32') return { file: 'cmd', args: ['/c', 'start', '""', url] };
  if (!env.DISPLAY && !env.WAYLAND_DISPLAY) return { none: 'no graphical display here (DISPLAY and WAYLAND_DISPLAY are unset)' };
  return { file: 'xdg-open', args: [url] };
}
