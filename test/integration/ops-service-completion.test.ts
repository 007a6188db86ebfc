/**
 * `tetora service install|uninstall|status` (the unit's content, `systemd-analyze verify`) and
 * `tetora completion` (the bash script sourced in a real bash, asked for completions).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeSandbox, type Sandbox } from '../helpers/cli.js';
import { daemonPool } from '../helpers/daemon.js';

const boxes: Sandbox[] = [];
afterEach(() => {
  for (const b of boxes.splice(0)) b.cleanup();
});
const pool = daemonPool();

function sandbox(): Sandbox {
  const b = makeSandbox('tetora-ops-');
  boxes.push(b);
  mkdirSync(b.home, { recursive: true });
  writeFileSync(join(b.home, 'config.json'), JSON.stringify({ listenAddr: '127.0.0.1:1', drainTimeout: '2m', agents: { a: { provider: 'claude' } } }));
  return b;
}

const which = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;

describe('tetora service', () => {
  it('install --no-start writes a systemd user unit that systemd-analyze accepts; uninstall removes it', async () => {
    if (process.platform !== 'linux') return;
    const b = sandbox();
    const xdg = join(b.root, 'xdg');
    const env = { XDG_CONFIG_HOME: xdg };
    const r = await b.run(['service', 'install', '--no-start'], { env });
    expect(r.code, r.stderr).toBe(0);
    const file = join(xdg, 'systemd', 'user', 'tetora.service');
    expect(r.stdout).toContain(`wrote ${file}`);
    expect(r.stdout).toMatch(/not started; start it with: systemctl --user daemon-reload && systemctl --user enable --now tetora\.service/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const unit = readFileSync(file, 'utf8');
    const bin = join(import.meta.dirname, '..', '..', 'bin', 'tetora.js');
    expect(unit).toContain(`ExecStart=${process.execPath} ${bin} --config ${join(b.home, 'config.json')} serve --log-format json\n`);
    expect(unit).toContain('Restart=on-failure\n');
    expect(unit).toContain('KillSignal=SIGTERM\n');
    expect(unit).toContain('TimeoutStopSec=150\n'); // drainTimeout 2m + 30 s
    expect(unit).toContain(`Environment=TETORA_HOME=${b.home}\n`);
    expect(unit).toContain(join(b.home, 'logs', 'tetora.log'));

    if (!which('systemd-analyze')) {
      if (process.env.CI) throw new Error('systemd-analyze is missing in CI: .ci/run installs the systemd package for it');
      process.stderr.write('note: systemd-analyze is not installed here; the unit was checked by content only\n');
    } else {
      const runtime = join(b.root, 'runtime');
      mkdirSync(runtime, { mode: 0o700 });
      const v = spawnSync('systemd-analyze', ['--user', 'verify', file], { encoding: 'utf8', env: { ...process.env, XDG_RUNTIME_DIR: runtime, XDG_CONFIG_HOME: xdg } });
      expect(v.status, v.stderr).toBe(0);
      // No warning about our unit (systemd-analyze exits 0 on ignored lines and only prints them).
      expect(v.stderr.split('\n').filter((l) => l.includes('tetora.service'))).toEqual([]);
    }

    const printed = await b.run(['service', 'install', '--print'], { env });
    expect(printed.stdout).toBe(unit);
    const st = await b.run(['service', 'status', '--json'], { env });
    expect(st.code, st.stderr).toBe(0);
    const sj = JSON.parse(st.stdout) as { installed: boolean; content: string; health: unknown; healthError: string };
    expect(sj.installed).toBe(true);
    expect(sj.content).toBe(unit);
    expect(sj.health).toBeNull();
    expect(sj.healthError).toMatch(/no daemon|cannot reach|127\.0\.0\.1:1/i);

    const un = await b.run(['service', 'uninstall'], { env });
    expect(un.code, un.stderr).toBe(0);
    expect(un.stdout).toContain(`stopped and removed ${file}`);
    expect(existsSync(file)).toBe(false);
    const again = await b.run(['service', 'uninstall'], { env });
    expect(again.stdout).toMatch(/no service is installed/);
  });

  it("status shows the daemon's health", async () => {
    const d = await pool.start();
    const r = await d.cli(['service', 'status'], undefined);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^service\s+not installed/m);
    expect(r.stdout).toMatch(/^daemon\s+ok \(version .*, 0 running, 0 queued\)/m);
  });

  it('says what is wrong with its arguments', async () => {
    const b = sandbox();
    const r = await b.run(['service', 'restart']);
    expect(r.code).toBe(64);
    expect(r.stderr).toMatch(/unknown command 'restart'/);
    const h = await b.run(['service', '--help']);
    expect(h.code).toBe(0);
    expect(h.stdout).toMatch(/install.*\n.*uninstall|uninstall/);
  });
});

describe('tetora completion', () => {
  /** What bash completes for the words (the last one being completed), with the script sourced. */
  function complete(script: string, words: string[]): string[] {
    const line = `source /dev/stdin <<'EOF_SCRIPT'\n${script}\nEOF_SCRIPT\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _tetora; printf '%s\\n' "\${COMPREPLY[@]}"`;
    const r = spawnSync('bash', ['--norc', '--noprofile', '-c', line], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    return r.stdout.split('\n').filter(Boolean);
  }

  it('bash completes commands, subcommands and options from the command tree', async () => {
    const b = sandbox();
    const r = await b.run(['completion', 'bash']);
    expect(r.code, r.stderr).toBe(0);
    expect(complete(r.stdout, ['tetora', 'ser'])).toEqual(['serve', 'service']);
    expect(complete(r.stdout, ['tetora', 'service', ''])).toEqual(expect.arrayContaining(['install', 'uninstall', 'status']));
    expect(complete(r.stdout, ['tetora', 'history', 'cost', '--b'])).toEqual(['--by']);
    // An option's value is skipped: the word after --config is not taken for a command.
    expect(complete(r.stdout, ['tetora', '--config', 'x.json', 'bac'])).toEqual(['backup']);
    expect(complete(r.stdout, ['tetora', 'logs', '-'])).toEqual(expect.arrayContaining(['--follow', '--level', '--since', '--json']));
  });

  it('zsh and fish scripts name the commands; an unknown shell is refused', async () => {
    const b = sandbox();
    const zsh = await b.run(['completion', 'zsh']);
    expect(zsh.stdout).toMatch(/^#compdef tetora/);
    expect(zsh.stdout).toContain('bashcompinit');
    const fish = await b.run(['completion', 'fish']);
    expect(fish.stdout).toContain(`complete -c tetora -n '__fish_use_subcommand' -a 'backup'`);
    const bad = await b.run(['completion', 'powershell']);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toMatch(/no completion for the shell "powershell"; use one of bash, zsh, fish/);
    const none = await b.run(['completion']);
    expect(none.code).toBe(64);
  });
});
