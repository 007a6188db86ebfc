#!/usr/bin/env node
// Builds the dashboard's browser app (src/dashboard/ui/) into dist/dashboard/: app.js (preact, uPlot,
// markdown-it, highlight.js, minified), app.css (the app's styles and uPlot's) and index.html. The daemon
// serves these files itself under /dashboard/assets/ (no CDN); the single executable embeds them.
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const ui = join(root, 'src', 'dashboard', 'ui');
const out = join(root, 'dist', 'dashboard');

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const started = Date.now();
try {
  await build({
    entryPoints: { app: join(ui, 'main.tsx') },
    outdir: out,
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    legalComments: 'none',
    logLevel: 'warning',
    define: { 'process.env.NODE_ENV': '"production"' },
  });
} catch (err) {
  console.error(`dashboard build failed (src/dashboard/ui): ${err.message}`);
  process.exit(1);
}
copyFileSync(join(ui, 'index.html'), join(out, 'index.html'));
if (process.env.TETORA_BUILD_VERBOSE) console.log(`dashboard built in ${Date.now() - started} ms → ${out}`);
