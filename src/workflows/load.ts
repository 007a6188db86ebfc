/**
 * Workflow files on disk: `<workflowDir>/*.json` (config `workflowDir`, default `$TETORA_HOME/workflows`).
 * A workflow is found by its internal `name`, whatever its file is called (the original's own example keeps
 * `name: "research-and-summarize"` in `workflow-basic.json`); two files with one name are an error naming
 * both, and that name is found in neither until one is renamed. Reading never throws for a bad file: its
 * problem is reported with the file's path. A file of the folder that leads out of it (a symlink to
 * elsewhere) is neither read nor written: a problem naming the file and where it leads
 * (TET_ERR_WORKFLOW_FILE_ESCAPE when asked for by name or saved).
 */
import { existsSync, readdirSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { TetoraError } from '../errors.js';
import { ensurePrivateDir, writePrivateFile } from '../util/fsx.js';
import { escapeMessage, escapesFolder } from '../util/confine.js';
import { parseWorkflowText } from './parse.js';
import type { Problem, WorkflowDef } from './types.js';

export interface LoadedWorkflow {
  def: WorkflowDef;
  /** Absolute path of the file. */
  file: string;
  /** Problems found while parsing (wrong kinds of values); `validateWorkflow` finds the rest. */
  errors: Problem[];
  warnings: Problem[];
}

/** A problem with one file, as a whole (unreadable, not JSON, no name, a name another file has too). */
export interface FileProblem {
  file: string;
  message: string;
}

export interface LoadWorkflowsResult {
  workflows: Map<string, LoadedWorkflow>;
  /** Names declared by more than one file → those files (such a name is not in `workflows`). */
  duplicates: Map<string, string[]>;
  errors: FileProblem[];
  warnings: FileProblem[];
}

/** Reads and parses one file; a read or JSON error is a problem at `(file)`. */
export function readWorkflowFile(file: string): LoadedWorkflow {
  const abs = resolve(file);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return {
      def: { name: '', variables: {}, steps: [] },
      file: abs,
      errors: [{ path: '(file)', message: `cannot read ${abs}: ${e.code ?? ''} ${e.message}`.replace(/\s+/g, ' ') }],
      warnings: [],
    };
  }
  // A byte order mark is not JSON but editors write it.
  const parsed = parseWorkflowText(text.replace(/^\uFEFF/, ''));
  return { def: parsed.def, file: abs, errors: parsed.errors, warnings: parsed.warnings };
}

function duplicateMessage(name: string, files: string[]): string {
  return `workflow name "${name}" is declared by ${files.length} files: ${files.join(' and ')}; rename one (its "name" field) or remove the one you do not want`;
}

/** Every `*.json` file of `dir` (not recursive), by internal name. A folder that does not exist holds no workflow. */
export function loadWorkflows(dir: string): LoadWorkflowsResult {
  const result: LoadWorkflowsResult = { workflows: new Map(), duplicates: new Map(), errors: [], warnings: [] };
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code !== 'ENOENT') result.errors.push({ file: dir, message: `cannot read the workflow folder ${dir}: ${e.message}` });
    return result;
  }
  const byName = new Map<string, LoadedWorkflow[]>();
  for (const entry of names.filter((n) => n.endsWith('.json')).sort()) {
    const file = join(dir, entry);
    const out = escapesFolder(dir, file);
    if (out !== undefined) {
      result.errors.push({ file, message: escapeMessage('workflow file', file, out, dir) });
      continue;
    }
    try {
      if (!statSync(file).isFile()) continue;
    } catch {
      continue;
    }
    const loaded = readWorkflowFile(file);
    if (loaded.def.name === '') {
      const why = loaded.errors[0]?.path === '(file)' ? (loaded.errors[0] as Problem).message : 'it has no "name"; give it one such as "' + entry.replace(/\.json$/, '') + '"';
      result.errors.push({ file: loaded.file, message: `${loaded.file}: ${why}` });
      continue;
    }
    const list = byName.get(loaded.def.name) ?? [];
    list.push(loaded);
    byName.set(loaded.def.name, list);
  }
  for (const [name, list] of byName) {
    if (list.length === 1) result.workflows.set(name, list[0] as LoadedWorkflow);
    else {
      const files = list.map((l) => l.file);
      result.duplicates.set(name, files);
      result.errors.push({ file: files[0] as string, message: duplicateMessage(name, files) });
    }
  }
  return result;
}

/** Throws TET_ERR_WORKFLOW_FILE_ESCAPE when `file` of the workflow folder leads out of it. */
function assertConfined(dir: string, file: string): void {
  const out = escapesFolder(dir, file);
  if (out !== undefined) throw new TetoraError('TET_ERR_WORKFLOW_FILE_ESCAPE', escapeMessage('workflow file', file, out, dir), { file, target: out, dir });
}

function looksLikePath(s: string): boolean {
  return s.includes('/') || s.endsWith('.json');
}

/**
 * One workflow by name, by file name in `dir` (`basic` or `basic.json` for `dir/basic.json`), or by path
 * (anything with a `/`, or ending in `.json`, that exists; not with `allowPath: false`, as over HTTP, where
 * only the folder's own files may be read). Throws TET_ERR_WORKFLOW_NOT_FOUND (naming the
 * workflows there are) or TET_ERR_WORKFLOW_DUPLICATE_NAME (naming both files).
 */
export function findWorkflow(dir: string, nameOrFile: string, opts: { allowPath?: boolean } = {}): LoadedWorkflow {
  const allowPath = opts.allowPath ?? true;
  if (allowPath && looksLikePath(nameOrFile) && existsSync(nameOrFile) && statSync(nameOrFile).isFile()) return readWorkflowFile(nameOrFile);
  const all = loadWorkflows(dir);
  const dup = all.duplicates.get(nameOrFile);
  if (dup) throw new TetoraError('TET_ERR_WORKFLOW_DUPLICATE_NAME', duplicateMessage(nameOrFile, dup), { name: nameOrFile, files: dup });
  const found = all.workflows.get(nameOrFile);
  if (found) return found;
  const fileName = nameOrFile.endsWith('.json') ? nameOrFile : `${nameOrFile}.json`;
  if (!nameOrFile.includes('/')) {
    const byFile = join(dir, fileName);
    assertConfined(dir, byFile);
    if (existsSync(byFile) && statSync(byFile).isFile()) return readWorkflowFile(byFile);
  }
  const known = [...all.workflows.keys()];
  throw new TetoraError(
    'TET_ERR_WORKFLOW_NOT_FOUND',
    `no workflow "${nameOrFile}" in ${dir} (${known.length ? `workflows: ${known.join(', ')}` : 'it holds no workflow'}); check the name with \`tetora workflow list\`, or pass the path of a file`,
    { name: nameOrFile, dir, known },
  );
}

/**
 * Writes a definition as `<dir>/<name>.json` (0600, atomically; the folder is made 0700). `json` is the text
 * to store (the document as the client sent it, so unknown keys and the original's format survive).
 * A workflow of that name in any file is a TET_ERR_WORKFLOW_EXISTS unless `overwrite` (then its file is
 * replaced); a `<name>.json` holding another workflow is never overwritten.
 */
export function saveWorkflow(dir: string, name: string, json: string, opts: { overwrite?: boolean } = {}): { file: string; created: boolean } {
  const all = loadWorkflows(dir);
  const dup = all.duplicates.get(name);
  if (dup) throw new TetoraError('TET_ERR_WORKFLOW_DUPLICATE_NAME', duplicateMessage(name, dup), { name, files: dup });
  const existing = all.workflows.get(name);
  if (existing && !opts.overwrite) {
    throw new TetoraError('TET_ERR_WORKFLOW_EXISTS', `workflow "${name}" already exists (${existing.file}); send ?overwrite=true to replace it, or choose another name`, { name, file: existing.file });
  }
  const file = existing?.file ?? join(dir, `${name}.json`);
  assertConfined(dir, file);
  if (!existing && existsSync(file)) {
    const other = readWorkflowFile(file).def.name;
    throw new TetoraError(
      'TET_ERR_WORKFLOW_EXISTS',
      `${file} already exists and holds ${other ? `workflow "${other}"` : 'something that is not a workflow with a name'}; it was not overwritten. Rename that file or choose another name`,
      { name, file },
    );
  }
  ensurePrivateDir(dir);
  writePrivateFile(file, json.endsWith('\n') ? json : `${json}\n`);
  return { file, created: !existing };
}

/** Removes the file of workflow `name`. Throws TET_ERR_WORKFLOW_NOT_FOUND or TET_ERR_WORKFLOW_DUPLICATE_NAME. */
export function deleteWorkflow(dir: string, name: string): { file: string } {
  const all = loadWorkflows(dir);
  const dup = all.duplicates.get(name);
  if (dup) throw new TetoraError('TET_ERR_WORKFLOW_DUPLICATE_NAME', duplicateMessage(name, dup), { name, files: dup });
  const found = all.workflows.get(name);
  if (!found) {
    throw new TetoraError('TET_ERR_WORKFLOW_NOT_FOUND', `no workflow "${name}" in ${dir}; check the name with \`tetora workflow list\``, { name, dir, known: [...all.workflows.keys()] });
  }
  unlinkSync(found.file);
  return { file: found.file };
}

