import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { parseSize } from '../../src/config/schema.js';
import { redactRaw, unredact } from '../../src/config/redact.js';
import { costTable } from '../../src/cli/commands/history.js';
import { checkManifest, defaultArchiveName, targets } from '../../src/ops/backup.js';
import { bashScript, commandTree, fishScript } from '../../src/ops/completion.js';
import { formatRecord, keep, parseLevel, parseLine, parseSince } from '../../src/ops/logfile.js';
import { inside, reportLines, retentionPlan } from '../../src/ops/retention.js';
import { daemonCommand, launchdPlist, parseShow, serviceFile, stopTimeoutSeconds, systemdQuote, systemdUnit } from '../../src/ops/service.js';

const DAY = 86_400_000;

describe('log lines', () => {
  it('parses pino JSON lines and leaves anything else out', () => {
    expect(parseLine('{"level":30,"time":1000,"msg":"hi","x":1}')).toEqual({ level: 30, time: 1000, msg: 'hi', x: 1 });
    expect(parseLine('not json')).toBeUndefined();
    expect(parseLine('{"level":"info"}')).toBeUndefined();
    expect(parseLine('{"level":30,')).toBeUndefined();
  });

  it('filters by level and time', () => {
    const r = { level: 40, time: 5000, msg: 'm' };
    expect(keep(r, { minLevel: parseLevel('warn') })).toBe(true);
    expect(keep(r, { minLevel: parseLevel('ERROR') })).toBe(false);
    expect(keep(r, { minLevel: 10, since: 5001 })).toBe(false);
    expect(keep(r, { minLevel: 10, since: 5000 })).toBe(true);
  });

  it('refuses an unknown level and a bad --since with the fix', () => {
    expect(() => parseLevel('loud')).toThrow(/--level "loud" is not a log level; use one of trace, debug, info, warn, error, fatal/);
    expect(() => parseSince('yesterday', 0)).toThrow(/--since "yesterday" is neither a duration back from now \(such as 30m/);
  });

  it('reads --since as a duration back from now or a date', () => {
    const now = Date.parse('2026-12-02T12:00:00Z');
    expect(parseSince('30m', now)).toBe(now - 30 * 60_000);
    expect(parseSince('2d', now)).toBe(now - 2 * DAY);
    expect(parseSince('2026-12-01T10:00:00Z', now)).toBe(Date.parse('2026-12-01T10:00:00Z'));
  });

  it('formats a record as one human line with its fields', () => {
    expect(formatRecord({ level: 50, time: 0, msg: 'boom', pid: 1, hostname: 'h', taskId: 't1', n: 2, why: 'a b' })).toBe('1970-01-01T00:00:00.000Z ERROR boom taskId=t1 n=2 why="a b"');
  });
});

describe('config sizes', () => {
  it('reads sizes of 1K or more', () => {
    expect(parseSize('10M')).toBe(10 * 1024 * 1024);
    expect(parseSize('512k')).toBe(512 * 1024);
    expect(parseSize(4096)).toBe(4096);
    expect(parseSize('12')).toBeUndefined();
    expect(parseSize('ten')).toBeUndefined();
  });
});

describe('redaction of config files for backups', () => {
  it('hides literal secrets, keeps $VAR references, and puts the old values back on restore', () => {
    const doc = { apiToken: 'abc', providers: { p: { apiKey: '$KEY', env: { A: 'x', B: '' } } }, discord: { botToken: '${BOT}' }, listenAddr: '127.0.0.1:1' };
    const r = redactRaw(doc);
    expect(r.doc).toEqual({ apiToken: '***', providers: { p: { apiKey: '$KEY', env: { A: '***', B: '' } } }, discord: { botToken: '${BOT}' }, listenAddr: '127.0.0.1:1' });
    expect(r.redacted).toEqual(['apiToken', 'providers.p.env.A']);
    const back = unredact(r.doc, { apiToken: 'old', providers: { p: { env: {} } } });
    // A value with nothing to take back is left out (a literal *** would be a guessable token).
    expect(back.doc).toEqual({ apiToken: 'old', providers: { p: { apiKey: '$KEY', env: { B: '' } } }, discord: { botToken: '${BOT}' }, listenAddr: '127.0.0.1:1' });
    expect(unredact({ apiToken: '***', n: 1 }, {}).doc).toEqual({ n: 1 });
    expect(back.missing).toEqual(['providers.p.env.A']);
  });
});

describe('backup manifest', () => {
  it('names archives by time and maps entries to the home', () => {
    expect(defaultArchiveName(new Date('2026-12-02T01:30:05Z'))).toBe('tetora-backup-20261202-013005.tar.gz');
    expect(targets({ home: '/h', dbPath: '/d/x.db', configPath: '/h/config.json', jobsFile: '/h/jobs.json', workflowDir: '/w' })).toMatchObject({
      'tetora.db': '/d/x.db',
      'config.local.json': '/h/config.local.json',
      agents: '/h/agents',
      workflows: '/w',
    });
  });

  it('refuses a manifest that is not ours or has no file list', () => {
    expect(checkManifest(null).problem).toMatch(/not a JSON object/);
    expect(checkManifest({ format: 'zip' }).problem).toMatch(/format "zip", not tetora-backup/);
    expect(checkManifest({ format: 'tetora-backup', formatVersion: 2 }).problem).toMatch(/upgrade Tetora/);
    expect(checkManifest({ format: 'tetora-backup', formatVersion: 1, schema: 10, files: [{ path: 'x' }] }).problem).toMatch(/no valid file list/);
    expect(checkManifest({ format: 'tetora-backup', formatVersion: 1, schema: 10, files: [{ path: 'x', sha256: 'a', bytes: 1 }] }).manifest).toBeDefined();
  });
});

describe('retention', () => {
  it('plans a cutoff for each kind set above 0', () => {
    const plan = retentionPlan({ eventsDays: 30, outputsDays: 0, runsDays: 1.5 }, 100 * DAY);
    expect(plan).toEqual([
      { kind: 'events', days: 30, cutoff: 70 * DAY },
      { kind: 'outputs', days: 0 },
      { kind: 'runs', days: 1.5, cutoff: 98.5 * DAY },
    ]);
    const lines = reportLines({ dryRun: true, at: 0, kinds: [{ kind: 'events', days: 30, cutoff: 0, removed: 3, tasks: 1, files: 0, total: 9 }, { kind: 'outputs', days: 0, removed: 0, tasks: 0, files: 0, total: 2 }] });
    expect(lines[0]).toMatch(/^events\s+would remove 3 events of 1 finished task\(s\) that ended before 1970-01-01T00:00:00.000Z \(30 days\); 9 in the store before$/);
    expect(lines[1]).toMatch(/outputs\s+kept for ever/);
  });

  it('removes files only under the home', () => {
    expect(inside('/h', '/h/runtime/runs/t/1')).toBe(true);
    expect(inside('/h', '/h')).toBe(false);
    expect(inside('/h', '/etc/passwd')).toBe(false);
    expect(inside('/h', '/h/../etc')).toBe(false);
  });
});

describe('history cost table', () => {
  it('adds a total line', () => {
    const t = costTable('agent', [
      { key: 'a', tasks: 2, costUsd: 0.5, tokensIn: 10, tokensOut: 20 },
      { key: 'b', tasks: 1, costUsd: 0.25, tokensIn: 1, tokensOut: 2 },
    ]);
    expect(t.split('\n').at(-1)).toMatch(/^TOTAL\s+3\s+\$0\.7500\s+11\s+22$/);
  });
});

describe('service files', () => {
  const spec = { command: ['/usr/bin/node', '/opt/my tetora/bin/tetora.js', '--config', '/home/u/.tetora/config.json', 'serve', '--log-format', 'json'], home: '/home/u/.tetora', configPath: '/home/u/.tetora/config.json', logPath: '/home/u/.tetora/logs/tetora.log', drainTimeoutMs: 45_000, path: '/usr/bin:/bin' };

  it('the systemd unit restarts on failure, stops with SIGTERM and waits drainTimeout plus a margin', () => {
    const unit = systemdUnit(spec);
    expect(unit).toContain('ExecStart=/usr/bin/node "/opt/my tetora/bin/tetora.js" --config /home/u/.tetora/config.json serve --log-format json\n');
    expect(unit).toContain('Restart=on-failure\n');
    expect(unit).toContain('KillSignal=SIGTERM\n');
    expect(unit).toContain('KillMode=process\n');
    expect(unit).toContain(`TimeoutStopSec=${45 + 30}\n`);
    expect(unit).toContain('Environment=TETORA_HOME=/home/u/.tetora\n');
    expect(unit).toContain('/home/u/.tetora/logs/tetora.log');
    expect(unit).toContain('WantedBy=default.target');
    expect(stopTimeoutSeconds(0)).toBe(30);
  });

  it('quotes ExecStart arguments and escapes specifiers', () => {
    expect(systemdQuote('/a b/c')).toBe('"/a b/c"');
    expect(systemdQuote('100%')).toBe('100%%');
    expect(systemdQuote('$HOME')).toBe('$$HOME');
    expect(systemdQuote('plain')).toBe('plain');
  });

  it('runs the single executable itself, and node with the script otherwise', () => {
    expect(daemonCommand({ execPath: '/usr/local/bin/tetora', isSea: true, entry: '/x/bin/tetora.js', configPath: '/c.json' })).toEqual(['/usr/local/bin/tetora', '--config', '/c.json', 'serve', '--log-format', 'json']);
    expect(daemonCommand({ execPath: '/usr/bin/node', isSea: false, entry: '/x/bin/tetora.js', configPath: '/c.json' })).toEqual(['/usr/bin/node', '/x/bin/tetora.js', '--config', '/c.json', 'serve', '--log-format', 'json']);
  });

  it('the launchd agent keeps the daemon alive on failure and waits for the drain', () => {
    const plist = launchdPlist(spec);
    expect(plist).toContain('<string>/opt/my tetora/bin/tetora.js</string>');
    expect(plist).toMatch(/<key>SuccessfulExit<\/key>\s*<false\/>/);
    expect(plist).toMatch(/<key>ExitTimeOut<\/key>\s*<integer>75<\/integer>/);
  });

  it('puts the file where the manager looks, and reads systemctl show', () => {
    expect(serviceFile('linux', { XDG_CONFIG_HOME: '/x' }, '/home/u')).toBe('/x/systemd/user/tetora.service');
    expect(serviceFile('linux', {}, '/home/u')).toBe('/home/u/.config/systemd/user/tetora.service');
    expect(serviceFile('darwin', {}, '/Users/u')).toBe('/Users/u/Library/LaunchAgents/dev.tetora.daemon.plist');
    expect(serviceFile('win32', {}, '/u')).toBeUndefined();
    expect(parseShow('ActiveState=active\nMainPID=12\nExecMainStatus=0\n')).toEqual({ ActiveState: 'active', MainPID: '12', ExecMainStatus: '0' });
  });
});

describe('completion', () => {
  const program = () => {
    const p = new Command('tool');
    p.option('-c, --config <path>', 'config');
    const svc = p.command('service').description('svc');
    svc.command('install').option('--no-start', 'x');
    p.command('logs').option('--level <l>', 'lvl').option('-f, --follow', 'f');
    return p;
  };

  it('follows the command tree: every command and option, including ones added later', () => {
    const p = program();
    p.command('newcmd');
    const tree = commandTree(p);
    expect(tree.subcommands.map((s) => s.name)).toEqual(['service', 'logs', 'newcmd']);
    const bash = bashScript(tree);
    expect(bash).toContain(`'tool service') words='install --help -h'`);
    expect(bash).toContain(`'tool logs') valued='--level'`);
    expect(bash).toContain(`'tool') words='service logs newcmd help --config -c --help -h'`);
    expect(fishScript(tree)).toContain(`complete -c tool -n '__fish_seen_subcommand_from service; and not __fish_seen_subcommand_from install' -a 'install'`);
  });
});
