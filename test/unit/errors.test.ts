import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { errorCatalog, ExitCode, messageOf, TetoraError, type ErrorCode } from '../../src/errors.js';

const docPath = fileURLToPath(new URL('../../docs/errors.md', import.meta.url));
const doc = readFileSync(docPath, 'utf8');

interface DocRow {
  status: number;
  exit: number;
  meaning: string;
  todo: string;
}

/** Rows of the code table: | `TET_ERR_X` | status | exit | meaning | what to do | */
function documentedCodes(): Map<string, DocRow> {
  const rows = new Map<string, DocRow>();
  for (const line of doc.split('\n')) {
    const m = /^\|\s*`(TET_ERR_[A-Z0-9_]+)`\s*\|\s*(\d+)\s*\|\s*(\d+)\s*\|(.*)\|\s*$/.exec(line);
    if (!m) continue;
    const code = m[1] as string;
    if (rows.has(code)) throw new Error(`docs/errors.md lists ${code} twice`);
    const [meaning = '', todo = ''] = (m[4] as string).split(/(?<!\\)\|/).map((c) => c.trim());
    rows.set(code, { status: Number(m[2]), exit: Number(m[3]), meaning, todo });
  }
  return rows;
}

describe('the error catalog and docs/errors.md', () => {
  const rows = documentedCodes();
  const codes = Object.keys(errorCatalog) as ErrorCode[];

  it('finds the table', () => {
    expect(rows.size).toBeGreaterThan(10);
  });

  it('documents every code of src/errors.ts, with its HTTP status, exit code and what to do', () => {
    const missing = codes.filter((c) => !rows.has(c));
    expect(missing, 'codes in src/errors.ts missing from docs/errors.md').toEqual([]);
    for (const code of codes) {
      const row = rows.get(code) as DocRow;
      expect({ code, status: row.status, exit: row.exit }).toEqual({ code, status: errorCatalog[code].status, exit: errorCatalog[code].exit });
      expect(row.meaning.length, `${code}: the "meaning" column of docs/errors.md is empty`).toBeGreaterThan(10);
      expect(row.todo.length, `${code}: docs/errors.md must say what to do, in a fifth column "what to do"`).toBeGreaterThan(10);
    }
  });

  it('documents no code that src/errors.ts does not have', () => {
    const extra = [...rows.keys()].filter((c) => !(c in errorCatalog));
    expect(extra, 'codes in docs/errors.md that src/errors.ts does not define').toEqual([]);
  });

  it('mentions every code anywhere in the doc only if it exists', () => {
    const mentioned = new Set(doc.match(/TET_ERR_[A-Z0-9_]+/g) ?? []);
    const unknown = [...mentioned].filter((c) => !(c in errorCatalog));
    expect(unknown).toEqual([]);
  });

  it('names codes TET_ERR_<AREA>_<WHAT> and uses only documented exit codes', () => {
    const exits = new Set<number>(Object.values(ExitCode));
    for (const code of codes) {
      expect(code).toMatch(/^TET_ERR_[A-Z0-9]+(_[A-Z0-9]+)*$/);
      expect(exits.has(errorCatalog[code].exit), `${code} exit ${errorCatalog[code].exit}`).toBe(true);
      expect(errorCatalog[code].status).toBeGreaterThanOrEqual(400);
      expect(errorCatalog[code].status).toBeLessThan(600);
    }
  });

  it('explains every exit code in the exit-code table', () => {
    const section = doc.slice(doc.indexOf('## Exit codes'));
    for (const exit of new Set<number>(Object.values(ExitCode))) {
      expect(section, `exit code ${exit}`).toMatch(new RegExp(`^\\|\\s*${exit}\\s*\\|`, 'm'));
    }
  });
});

describe('TetoraError', () => {
  it('takes its status and exit code from the catalog and serialises without a stack', () => {
    const err = new TetoraError('TET_ERR_CONFIG_INVALID', 'config x: maxConcurrent is "8", expected a whole number', { path: 'maxConcurrent' });
    expect(err.status).toBe(errorCatalog.TET_ERR_CONFIG_INVALID.status);
    expect(err.exitCode).toBe(ExitCode.config);
    expect(err.toJSON()).toEqual({ code: 'TET_ERR_CONFIG_INVALID', message: 'config x: maxConcurrent is "8", expected a whole number', details: { path: 'maxConcurrent' } });
    expect(JSON.stringify(err)).not.toContain('at ');
    expect(new TetoraError('TET_ERR_USAGE', 'bad').toJSON()).toEqual({ code: 'TET_ERR_USAGE', message: 'bad' });
  });

  it('messageOf never returns an empty string', () => {
    expect(messageOf(new Error('boom'))).toBe('boom');
    expect(messageOf(new Error(''))).not.toBe('');
    expect(messageOf(undefined)).not.toBe('');
    expect(messageOf('text')).toBe('text');
  });
});
