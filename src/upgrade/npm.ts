/** `tetora upgrade` for an npm install: npm itself looks up and installs the package (npm's config applies). */
import { spawn } from 'node:child_process';
import { TetoraError } from '../errors.js';
import { classifyNpmFailure, parseNpmView, type npmLayout } from './release.js';

function npm(args: string[], cwd?: string): Promise<{ code: number; out: string }> {
  return new Promise((res, rej) => {
    const child = spawn(process.platform === 'win32' ? 'npm.cmd' : 'npm', args, { cwd: cwd ?? process.cwd(), stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', (e) => rej(new TetoraError('TET_ERR_UPGRADE_NPM', `cannot run npm (${e.message}): Tetora was installed through npm, so npm must be on PATH to upgrade it.`, {})));
    child.on('close', (code) => res({ code: code ?? 1, out: code === 0 ? out : `${out}\n${err}` }));
  });
}

const registryArgs = (registry: string | undefined) => (registry ? ['--registry', registry] : []);

/** The versions the registry has of `pkg`, and its `latest` tag. */
export async function npmVersions(pkg: string, registry: string | undefined): Promise<{ versions: string[]; latest?: string }> {
  const r = await npm(['view', pkg, 'versions', 'dist-tags', '--json', ...registryArgs(registry)]);
  if (r.code !== 0) throw classifyNpmFailure(r.out, `looking up ${pkg} in the registry`);
  return parseNpmView(r.out, pkg);
}

/** Installs `pkg@version` where this Tetora was installed (globally under its prefix, or in its project). */
export async function npmInstall(pkg: string, version: string, layout: Exclude<ReturnType<typeof npmLayout>, { kind: 'checkout' }>, registry: string | undefined): Promise<string> {
  const spec = `${pkg}@${version}`;
  const args = layout.kind === 'global' ? ['install', '-g', '--prefix', layout.prefix, spec] : ['install', spec];
  const cwd = layout.kind === 'local' ? layout.project : undefined;
  const r = await npm([...args, ...registryArgs(registry)], cwd);
  const shown = `npm ${args.join(' ')}`;
  if (r.code !== 0) throw classifyNpmFailure(r.out, shown);
  return shown;
}
