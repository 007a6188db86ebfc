import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/cli.js';

/**
 * Building the command tree (`tetora --version`, `--help`, and the start of every command) must not load
 * the heavy packages: an action imports what it needs with `await import(...)` when it runs. This walks
 * the static value imports (not `import type`) from src/cli/main.ts and names the path to any package
 * outside the light list.
 */
const LIGHT_PACKAGES = new Set(['commander']);
const src = join(repoRoot, 'src');

function staticImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^\s*(?:import|export)\s+(?!type\b)[^'"]*?from\s+'([^']+)'|^\s*import\s+'([^']+)'/gm)].map((m) => (m[1] ?? m[2]) as string);
}

function heavyPaths(): string[] {
  const start = join(src, 'cli', 'main.ts');
  const parent = new Map<string, string | null>([[start, null]]);
  const queue = [start];
  const found: string[] = [];
  const chain = (f: string | null): string => {
    const out: string[] = [];
    for (let c = f; c; c = parent.get(c) ?? null) out.push(relative(src, c));
    return out.join(' <- ');
  };
  while (queue.length) {
    const file = queue.shift() as string;
    for (const spec of staticImports(file)) {
      if (spec.startsWith('.')) {
        const target = resolve(dirname(file), spec.replace(/\.js$/, '.ts'));
        if (!parent.has(target)) {
          parent.set(target, file);
          queue.push(target);
        }
      } else if (!spec.startsWith('node:') && !LIGHT_PACKAGES.has(spec)) {
        found.push(`${spec}: ${chain(file)}`);
      }
    }
  }
  return found;
}

describe('CLI start-up imports', () => {
  it('src/cli/main.ts reaches no package but commander through static imports', () => {
    expect(heavyPaths()).toEqual([]);
  });
});
