import { resolve } from 'node:path';
import { defineConfig } from 'vite';

/** vite-node's config for `npm run chaos`: the helpers' `vitest` import resolves to a shim (see vitest-shim.ts). */
export default defineConfig({
  resolve: { alias: { vitest: resolve(import.meta.dirname, 'vitest-shim.ts') } },
});
