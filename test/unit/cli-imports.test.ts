import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/cli.js';

const cliDir = join(repoRoot, 'src', 'cli');

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

/** Relative imports of each file under src/cli that stay inside src/cli (type-only imports included). */
function graph(): Map<string, string[]> {
  const g = new Map<string, string[]>();
  for (const file of tsFiles(cliDir)) {
    const specs = [...readFileSync(file, 'utf8').matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+'(\.[^']+)'/gm)].map((m) => m[1] as string);
    const targets = specs.map((s) => resolve(dirname(file), s.replace(/\.js$/, '.ts'))).filter((t) => t.startsWith(cliDir));
    g.set(file, targets);
  }
  return g;
}

/** One import cycle as a list of paths relative to src/cli, or undefined. */
function findCycle(g: Map<string, string[]>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string): string[] | undefined => {
    if (state.get(n) === 'done') return undefined;
    if (state.get(n) === 'open') return [...stack.slice(stack.indexOf(n)), n];
    state.set(n, 'open');
    stack.push(n);
    for (const m of g.get(n) ?? []) {
      const c = visit(m);
      if (c) return c;
    }
    stack.pop();
    state.set(n, 'done');
    return undefined;
  };
  for (const n of g.keys()) {
    const c = visit(n);
    if (c) return c.map((f) => relative(cliDir, f));
  }
  return undefined;
}

describe('src/cli module graph', () => {
  it('has no import cycle (commands take ExitWith and version from their own modules, not from main.ts)', () => {
    const g = graph();
    expect(g.size).toBeGreaterThan(5);
    expect(findCycle(g)).toBeUndefined();
  });
});
