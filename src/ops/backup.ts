import { createHash } from 'node:crypto';
import { chmodSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, sep } from 'node:path';
import * as tar from 'tar';
import { redactRaw, unredact } from '../config/redact.js';
import { lockHome } from '../engine/engine.js';
import { TetoraError, messageOf } from '../errors.js';
import { backupDatabase, checkDatabase } from '../store/backup.js';
import { ensurePrivateDir } from '../util/fsx.js';

/**
 * `tetora backup` and `tetora restore`. An archive is a .tar.gz holding `manifest.json` and, as the home
 * had them: `tetora.db` (SQLite's online backup: consistent while a daemon writes), `config.json` and
 * `config.local.json` (literal secrets replaced by `***` unless --with-secrets), `.env` (only with
 * --with-secrets), `jobs.json`, `agents/` and `workflows/`. The manifest lists every file with its size and
 * sha256; restore checks all of it, and the database's integrity, before it touches the home.
 */

export const MANIFEST = 'manifest.json';
export const FORMAT = 'tetora-backup';

export interface ManifestFile {
  path: string;
  bytes: number;
  sha256: string;
}

export interface Manifest {
  format: typeof FORMAT;
  formatVersion: 1;
  tetoraVersion: string;
  /** The database's schema version (0: the archive holds no database). */
  schema: number;
  tasks: number;
  createdAt: string;
  secrets: 'included' | 'redacted';
  /** JSON paths hidden as `***`, per config file. */
  redacted: Record<string, string[]>;
  source: { home: string; dbPath: string; hostname?: string };
  files: ManifestFile[];
}

/** The homes' paths an archive entry maps to. */
export interface HomePaths {
  home: string;
  dbPath: string;
  configPath: string;
  jobsFile: string;
  workflowDir: string;
}

/** Top-level archive entries → where they live in a home. Pure. */
export function targets(p: HomePaths): Record<string, string> {
  return {
    'tetora.db': p.dbPath,
    'config.json': p.configPath,
    'config.local.json': join(dirname(p.configPath), `${basename(p.configPath, '.json')}.local.json`),
    '.env': join(dirname(p.configPath), '.env'),
    'jobs.json': p.jobsFile,
    agents: join(p.home, 'agents'),
    workflows: p.workflowDir,
  };
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** Every regular file under `root`, as archive paths (`/`-separated), sorted. */
function walk(root: string, dir = root): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(root, p));
    else if (e.isFile()) out.push(relative(root, p).split(sep).join('/'));
  }
  return out.sort();
}

/** `tetora-backup-20261202-013000.tar.gz` for `now`. Pure. */
export function defaultArchiveName(now: Date): string {
  const s = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `tetora-backup-${s}.tar.gz`;
}

export interface BackupResult {
  file: string;
  bytes: number;
  manifest: Manifest;
}

export async function createBackup(opts: { paths: HomePaths; out: string; withSecrets: boolean; version: string; now?: Date; hostname?: string }): Promise<BackupResult> {
  const { paths, out } = opts;
  const now = opts.now ?? new Date();
  if (existsSync(out)) throw new TetoraError('TET_ERR_BACKUP_FAILED', `${out} already exists; give another file name (or remove it first).`, { file: out });
  if (!existsSync(dirname(out))) throw new TetoraError('TET_ERR_BACKUP_FAILED', `the folder ${dirname(out)} does not exist; create it or give another file name.`, { file: out });
  const staging = mkdtempSync(join(tmpdir(), 'tetora-backup-'));
  const tmp = join(dirname(out), `.${basename(out)}.${process.pid}.tmp`);
  try {
    const redacted: Record<string, string[]> = {};
    let schema = 0;
    let tasks = 0;
    const t = targets(paths);
    const entries: string[] = [];
    if (existsSync(paths.dbPath)) {
      ({ schema, tasks } = await backupDatabase(paths.dbPath, join(staging, 'tetora.db')));
      entries.push('tetora.db');
    }
    for (const name of ['config.json', 'config.local.json'] as const) {
      const src = t[name] as string;
      if (!existsSync(src)) continue;
      let text = readFileSync(src, 'utf8');
      if (!opts.withSecrets) {
        let doc: unknown;
        try {
          doc = JSON.parse(text);
        } catch (err) {
          throw new TetoraError('TET_ERR_BACKUP_FAILED', `${src} is not valid JSON (${messageOf(err)}), so its secrets cannot be hidden; fix it (\`tetora config validate\`) or pass --with-secrets.`, { file: src });
        }
        const r = redactRaw(doc);
        redacted[name] = r.redacted;
        text = `${JSON.stringify(r.doc, null, 2)}\n`;
      }
      writeFileSync(join(staging, name), text, { mode: 0o600 });
      entries.push(name);
    }
    if (opts.withSecrets && existsSync(t['.env'] as string)) {
      cpSync(t['.env'] as string, join(staging, '.env'));
      entries.push('.env');
    }
    if (existsSync(paths.jobsFile)) {
      cpSync(paths.jobsFile, join(staging, 'jobs.json'));
      entries.push('jobs.json');
    }
    for (const name of ['agents', 'workflows'] as const) {
      const src = t[name] as string;
      if (!existsSync(src) || !statSync(src).isDirectory()) continue;
      cpSync(src, join(staging, name), { recursive: true, dereference: true });
      entries.push(name);
    }
    const files = walk(staging).map((p) => ({ path: p, bytes: statSync(join(staging, p)).size, sha256: sha256(join(staging, p)) }));
    const manifest: Manifest = {
      format: FORMAT,
      formatVersion: 1,
      tetoraVersion: opts.version,
      schema,
      tasks,
      createdAt: now.toISOString(),
      secrets: opts.withSecrets ? 'included' : 'redacted',
      redacted,
      source: { home: paths.home, dbPath: paths.dbPath, ...(opts.hostname ? { hostname: opts.hostname } : {}) },
      files,
    };
    writeFileSync(join(staging, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
    await tar.c({ gzip: true, file: tmp, cwd: staging, portable: true }, [MANIFEST, ...entries]);
    chmodSync(tmp, 0o600);
    renameSync(tmp, out);
    return { file: out, bytes: statSync(out).size, manifest };
  } catch (err) {
    rmSync(tmp, { force: true });
    if (err instanceof TetoraError) throw err;
    throw new TetoraError('TET_ERR_BACKUP_FAILED', `cannot write the backup ${out}: ${messageOf(err)}. Check that the disk has room and the folder is writable, then run \`tetora backup\` again.`, { file: out }, { cause: err });
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** The manifest's shape, or what is wrong with it. Pure. */
export function checkManifest(doc: unknown): { manifest?: Manifest; problem?: string } {
  const m = doc as Partial<Manifest> | null;
  if (!m || typeof m !== 'object') return { problem: 'manifest.json is not a JSON object' };
  if (m.format !== FORMAT) return { problem: `manifest.json says format ${JSON.stringify(m.format)}, not ${FORMAT}` };
  if (m.formatVersion !== 1) return { problem: `manifest.json has format version ${JSON.stringify(m.formatVersion)}; this Tetora reads version 1 (upgrade Tetora)` };
  if (!Array.isArray(m.files) || m.files.some((f) => !f || typeof f.path !== 'string' || typeof f.sha256 !== 'string' || typeof f.bytes !== 'number')) {
    return { problem: 'manifest.json has no valid file list' };
  }
  if (typeof m.schema !== 'number') return { problem: 'manifest.json has no schema version' };
  return { manifest: m as Manifest };
}

const invalid = (archive: string, why: string, details: Record<string, unknown> = {}) =>
  new TetoraError('TET_ERR_RESTORE_INVALID', `${archive} cannot be restored: ${why}. Nothing was changed; restore another archive.`, { file: archive, ...details });

export interface RestoreResult {
  archive: string;
  manifest: Manifest;
  /** Where what was replaced now is (undefined: nothing was replaced). */
  keptIn?: string;
  restored: Array<{ entry: string; to: string; replaced: boolean }>;
  /** Config paths still `***` (a redacted archive restored where no current value was found). */
  missingSecrets: string[];
}

/** Extract and check an archive into `dir`; returns its manifest. Changes nothing outside `dir`. */
export async function verifyArchive(archive: string, dir: string): Promise<Manifest> {
  if (!existsSync(archive) || !statSync(archive).isFile()) throw invalid(archive, 'the file does not exist');
  const odd: string[] = [];
  try {
    await tar.x({
      file: archive,
      cwd: dir,
      strict: true,
      preservePaths: false,
      filter: (p, entry) => {
        const type = (entry as { type?: string }).type;
        const ok = type === 'File' || type === 'Directory' || type === 'OldFile';
        if (!ok) odd.push(p);
        return ok;
      },
    });
  } catch (err) {
    throw invalid(archive, `it is not a readable .tar.gz (${messageOf(err)})`);
  }
  if (odd.length) throw invalid(archive, `it holds entries that are not plain files or folders (${odd.slice(0, 5).join(', ')})`);
  const mpath = join(dir, MANIFEST);
  if (!existsSync(mpath)) throw invalid(archive, 'it has no manifest.json, so it is not a Tetora backup');
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(mpath, 'utf8'));
  } catch (err) {
    throw invalid(archive, `its manifest.json is not valid JSON (${messageOf(err)})`);
  }
  const { manifest, problem } = checkManifest(doc);
  if (!manifest) throw invalid(archive, problem as string);
  const listed = new Set(manifest.files.map((f) => f.path));
  const extra = walk(dir).filter((p) => p !== MANIFEST && !listed.has(p));
  if (extra.length) throw invalid(archive, `it holds files its manifest does not list (${extra.slice(0, 5).join(', ')})`);
  for (const f of manifest.files) {
    const p = join(dir, ...f.path.split('/'));
    if (!existsSync(p)) throw invalid(archive, `${f.path}, listed in its manifest, is missing`, { entry: f.path });
    const sum = sha256(p);
    if (sum !== f.sha256 || statSync(p).size !== f.bytes) throw invalid(archive, `${f.path} does not match its checksum in the manifest (the archive is damaged or was changed)`, { entry: f.path, expected: f.sha256, actual: sum });
  }
  if (listed.has('tetora.db')) {
    const c = checkDatabase(join(dir, 'tetora.db'));
    if (!c.ok) throw invalid(archive, `its database fails SQLite's integrity check (${c.problems.slice(0, 3).join('; ')})`, { problems: c.problems });
    if (c.schema > c.latest) throw invalid(archive, `its database is at schema version ${c.schema}, newer than this Tetora reads (${c.latest}): upgrade Tetora (\`tetora upgrade\`) and restore again`, { schema: c.schema, latest: c.latest });
  }
  return manifest;
}

/**
 * Put an archive in place in a home: refuses while a daemon holds the home (its lock is held here until
 * the end, so none can start meanwhile), checks everything first, then moves what it replaces to
 * `<home>/replaced-<time>/` and the archive's files in. A redacted config takes back the secrets the
 * config it replaces had.
 */
export async function restoreBackup(opts: { paths: HomePaths; archive: string; force: boolean; now?: Date }): Promise<RestoreResult> {
  const { paths, archive } = opts;
  const now = opts.now ?? new Date();
  ensurePrivateDir(paths.home);
  const lock = lockHome(paths.dbPath);
  const staging = mkdtempSync(join(paths.home, '.restore-'));
  try {
    const manifest = await verifyArchive(archive, staging);
    const t = targets(paths);
    const entries = Object.keys(t).filter((e) => existsSync(join(staging, e)));
    if (existsSync(paths.dbPath) && entries.includes('tetora.db') && !opts.force) {
      throw new TetoraError(
        'TET_ERR_RESTORE_TARGET_EXISTS',
        `${paths.dbPath} exists; \`tetora restore ${archive} --force\` replaces it (and the config, agents and workflows the archive holds), keeping what it replaces in ${join(paths.home, 'replaced-<time>')}.`,
        { dbPath: paths.dbPath },
      );
    }
    // A redacted config takes back the secrets of the one it replaces.
    const missingSecrets: string[] = [];
    for (const name of ['config.json', 'config.local.json']) {
      if (manifest.secrets !== 'redacted' || !entries.includes(name)) continue;
      const staged = join(staging, name);
      let current: unknown = {};
      try {
        current = existsSync(t[name] as string) ? JSON.parse(readFileSync(t[name] as string, 'utf8')) : {};
      } catch {
        current = {};
      }
      const r = unredact(JSON.parse(readFileSync(staged, 'utf8')), current);
      writeFileSync(staged, `${JSON.stringify(r.doc, null, 2)}\n`, { mode: 0o600 });
      missingSecrets.push(...r.missing.map((p) => `${name}: ${p}`));
    }
    const keptIn = join(paths.home, `replaced-${now.toISOString().replace(/[:.]/g, '-')}`);
    const restored: RestoreResult['restored'] = [];
    const keep = (from: string, name: string) => {
      if (!existsSync(from) && !isLink(from)) return false;
      ensurePrivateDir(keptIn);
      renameSync(from, join(keptIn, name));
      return true;
    };
    for (const entry of entries) {
      const to = t[entry] as string;
      let replaced = keep(to, entry);
      if (entry === 'tetora.db') for (const x of ['-wal', '-shm']) replaced = keep(`${to}${x}`, `${entry}${x}`) || replaced;
      mkdirSync(dirname(to), { recursive: true, mode: 0o700 });
      moveInto(join(staging, entry), to);
      if (entry === 'tetora.db') chmodSync(to, 0o600);
      restored.push({ entry, to, replaced });
    }
    return { archive, manifest, ...(existsSync(keptIn) ? { keptIn } : {}), restored, missingSecrets };
  } finally {
    rmSync(staging, { recursive: true, force: true });
    lock?.release();
  }
}

function isLink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

/** rename, or copy and remove when the target is on another filesystem. */
function moveInto(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    cpSync(from, to, { recursive: true });
    rmSync(from, { recursive: true, force: true });
  }
}
