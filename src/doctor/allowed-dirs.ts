import { realpathSync } from 'node:fs';
import type { ResolvedConfig } from '../config/types.js';
import { allowedBy, realResolve } from '../engine/allowed-dirs.js';
import type { CheckResult } from './checks.js';

/**
 * `tetora doctor` on `allowedDirs`: the folders the config itself names for tasks — `defaultWorkdir`, each
 * agent's `workdir` (or the `defaultWorkdir` it falls back to) and `addDirs` — that lie outside the
 * allowed dirs that hold that agent's tasks (its own list, else the top-level one), compared as the
 * daemon compares them (`..` and symlinks resolved). Every task using one of them would be refused.
 */

export interface AllowedDirsOutside {
  /** The config key, e.g. `agents.coder.addDirs[0]` or `defaultWorkdir (agent coder)`. */
  field: string;
  path: string;
  resolved: string;
  allowedDirs: string[];
}

/** Present when the config sets allowedDirs (top-level or for an agent). */
export interface AllowedDirsFact {
  /** How many folders were checked. */
  checked: number;
  outside: AllowedDirsOutside[];
}

export function allowedDirsFact(config: ResolvedConfig, realpath: (p: string) => string = realpathSync): AllowedDirsFact | undefined {
  const top = config.allowedDirs ?? [];
  const agents = Object.values(config.agents);
  if (top.length === 0 && !agents.some((a) => a.allowedDirs?.length)) return undefined;
  const fact: AllowedDirsFact = { checked: 0, outside: [] };
  const seen = new Set<string>();
  const check = (field: string, path: string, allowed: readonly string[]) => {
    if (allowed.length === 0) return;
    const key = `${field}\0${path}\0${allowed.join('\0')}`;
    if (seen.has(key)) return;
    seen.add(key);
    fact.checked++;
    if (allowedBy(path, allowed, realpath) === undefined) fact.outside.push({ field, path, resolved: realResolve(path, realpath), allowedDirs: [...allowed] });
  };
  if (config.defaultWorkdir) check('defaultWorkdir', config.defaultWorkdir, top);
  for (const a of agents) {
    const own = a.allowedDirs?.length ? a.allowedDirs : undefined;
    const allowed = own ?? top;
    if (a.workdir) check(`agents.${a.name}.workdir`, a.workdir, allowed);
    // The defaultWorkdir was checked against the top-level list; an agent with its own list uses it too.
    else if (config.defaultWorkdir && own) check(`defaultWorkdir (used by agent ${a.name}, which has its own allowedDirs)`, config.defaultWorkdir, own);
    a.addDirs.forEach((d, i) => check(`agents.${a.name}.addDirs[${i}]`, d, allowed));
  }
  return fact;
}

/** Passes with a warning per folder outside (the config loads; tasks using those folders are refused). */
export function checkAllowedDirs(f: AllowedDirsFact): CheckResult {
  const name = 'allowedDirs';
  if (f.outside.length === 0) return { name, ok: true, detail: `the ${f.checked} configured workdir${f.checked === 1 ? '' : 's'} and addDirs lie inside allowedDirs`, fix: null };
  return {
    name,
    ok: true,
    detail: `${f.outside.length} of ${f.checked} configured folders lie outside allowedDirs: tasks using them are refused (400 TET_ERR_TASK_INVALID)`,
    fix: null,
    warnings: f.outside.map((o) => `${o.field} ${o.resolved === o.path ? o.path : `${o.path} (resolved: ${o.resolved})`} is outside allowedDirs (${o.allowedDirs.join(', ')}): move it inside one of them or add its folder to allowedDirs`),
  };
}
