import type { Command } from 'commander';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { DEFAULT_LISTEN } from '../../config/listen.js';
import { findExecutable } from '../../doctor/probe.js';
import { messageOf, TetoraError } from '../../errors.js';
import { askChoices } from '../../init/interactive.js';
import {
  DEFAULT_AGENT,
  defaultStarterProvider,
  INSTALL_HINT,
  STARTER_PROVIDERS,
  starterConfig,
  starterSoul,
  validateChoices,
  type Detected,
  type InitChoices,
  type StarterProvider,
} from '../../init/starter.js';
import { ensurePrivateDir, writePrivateFile } from '../../util/fsx.js';
import { configPathFrom, printJson, withConfigOption } from '../context.js';

interface InitFlags {
  yes?: boolean;
  provider?: string;
  agent?: string;
  listen?: string;
  workdir?: string;
  token: boolean;
  force?: boolean;
  json?: boolean;
}

/** A folder typed by the user: `~` kept for the loader to expand, anything else made absolute from here. */
function resolveDir(dir: string): string {
  return dir === '~' || dir.startsWith('~/') ? dir : resolve(dir);
}

function detect(): Detected {
  const detected: Detected = {};
  for (const p of STARTER_PROVIDERS) {
    const found = findExecutable(p, process.env.PATH);
    if (found) detected[p] = found.path;
  }
  return detected;
}

async function interactively(defaults: InitChoices, detected: Detected): Promise<InitChoices> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return await askChoices((q) => rl.question(q), defaults, detected, (line) => process.stderr.write(`${line}\n`), resolveDir);
  } catch (err) {
    if (err instanceof TetoraError) throw err;
    throw new TetoraError('TET_ERR_USAGE', 'tetora init was cancelled before it wrote anything. Run it again, or use `tetora init --yes` with flags.');
  } finally {
    rl.close();
  }
}

function nextSteps(provider: StarterProvider, found: boolean, soulFile: string, configPath: string): string[] {
  const steps: string[] = [];
  if (!found) steps.push(`install the ${provider} CLI: ${INSTALL_HINT[provider]}`);
  steps.push('run `tetora doctor` to check the setup');
  steps.push(`edit ${soulFile} to give the agent its role`);
  steps.push(`add agents and providers in ${configPath} (per-machine overrides go in config.local.json beside it)`);
  return steps;
}

async function runInit(flags: InitFlags, cmd: Command): Promise<void> {
  const { homeDir, loadConfig } = await import('../../config/load.js');
  const given = configPathFrom(cmd);
  const configPath = resolve(given ?? join(homeDir(process.env), 'config.json'));
  const home = dirname(configPath);
  if (existsSync(configPath) && !flags.force) {
    throw new TetoraError('TET_ERR_CONFIG_EXISTS', `a config already exists at ${configPath}; tetora init leaves it alone. Pass --force to replace it, or edit it and run \`tetora config validate\`.`, { path: configPath });
  }
  const detected = detect();
  let choices: InitChoices = {
    provider: (flags.provider ?? defaultStarterProvider(detected)) as StarterProvider,
    agent: flags.agent ?? DEFAULT_AGENT,
    listen: flags.listen ?? DEFAULT_LISTEN,
    token: flags.token,
  };
  if (flags.workdir !== undefined) choices.workdir = resolveDir(flags.workdir);
  validateChoices(choices);
  if (!flags.yes && !flags.json && process.stdin.isTTY) choices = await interactively(choices, detected);

  const token = choices.token ? randomBytes(32).toString('hex') : undefined;
  const doc = starterConfig(choices, token);
  const soulFile = join(home, 'agents', choices.agent, 'SOUL.md');
  const soulWritten = !existsSync(soulFile);
  let target = home;
  try {
    ensurePrivateDir(home);
    target = configPath;
    writePrivateFile(configPath, `${JSON.stringify(doc, null, 2)}\n`);
    if (soulWritten) {
      target = soulFile;
      ensurePrivateDir(dirname(soulFile));
      writePrivateFile(soulFile, starterSoul(choices.agent));
    }
  } catch (err) {
    throw new TetoraError(
      'TET_ERR_INIT_WRITE',
      `tetora init cannot write ${target}: ${messageOf(err)}. Make sure ${home} is a folder you can write to, or choose another home with TETORA_HOME or --config PATH.`,
      { path: target },
      { cause: err },
    );
  }
  // The written file must load; config.local.json or .env beside it take part, as they will at run time.
  const { warnings } = loadConfig({ configPath, env: process.env });

  const providerPath = detected[choices.provider];
  const steps = nextSteps(choices.provider, providerPath !== undefined, soulFile, configPath);
  if (flags.json) {
    printJson({
      configPath,
      home,
      soulFile,
      soulWritten,
      provider: choices.provider,
      providerPath: providerPath ?? null,
      apiToken: token ? 'generated' : 'none',
      config: token ? { ...doc, apiToken: '***' } : doc,
      warnings,
      nextSteps: steps,
    });
    return;
  }
  const out: string[] = [`Wrote ${configPath}`, soulWritten ? `Wrote ${soulFile}` : `Kept the existing ${soulFile}`];
  out.push(
    providerPath
      ? `Provider: ${choices.provider} (${providerPath})`
      : `Provider: ${choices.provider}, which is not on PATH yet. Install it: ${INSTALL_HINT[choices.provider]}.`,
  );
  out.push(
    token
      ? 'API token: generated and stored as apiToken in the config; HTTP clients send it as "Authorization: Bearer <token>".'
      : 'API token: none (--no-token); the HTTP API accepts requests without one on loopback only.',
  );
  for (const w of warnings) out.push(`warning: ${w}`);
  out.push('Next steps:', ...steps.map((s, i) => `  ${i + 1}. ${s}`));
  process.stdout.write(`${out.join('\n')}\n`);
}

export function registerInit(program: Command): void {
  withConfigOption(program.command('init'))
    .description('write a starter config and agent into $TETORA_HOME (default ~/.tetora); asks on a terminal, or use --yes')
    .option('-y, --yes', 'do not ask; take the flags and defaults (also the case when stdin is not a terminal)')
    .option('--provider <name>', `default provider: ${STARTER_PROVIDERS.join(' or ')} (default: the first found on PATH, else claude)`)
    .option('--agent <name>', `name of the first agent (default: ${DEFAULT_AGENT})`)
    .option('--listen <addr>', `HTTP listen address host:port (default: ${DEFAULT_LISTEN})`)
    .option('--workdir <dir>', 'default working folder for agents')
    .option('--no-token', 'do not generate an apiToken')
    .option('--force', 'replace an existing config (an existing SOUL.md is kept)')
    .option('--json', 'print what was written as JSON (never asks)')
    .addHelpText('after', `\nExample: tetora init --yes --provider codex --agent coder --workdir ${join(homedir(), 'code')}`)
    .action((flags: InitFlags, cmd: Command) => runInit(flags, cmd));
}
