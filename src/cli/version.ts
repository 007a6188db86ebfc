import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The package version (from package.json next to dist/ and src/). */
export function version(): string {
  const pkgPath = fileURLToPath(new URL('../../package.json', import.meta.url));
  return (JSON.parse(readFileSync(pkgPath, 'utf8')) as { version: string }).version;
}
