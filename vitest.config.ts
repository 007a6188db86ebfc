import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // One temporary folder for the whole run, removed at its end (test/global-setup.ts).
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Real child processes and real CLIs: keep the 2-core machine from thrashing. The forks are reused
    // from file to file (isolate: false here); each project says whether a file gets fresh modules.
    poolOptions: { forks: { maxForks: 2, minForks: 1, isolate: false } },
    projects: [
      {
        extends: true,
        // Pure logic, no processes: the files share their worker's modules, which cuts the unit and fuzz
        // tests from about 43 s to 13 s of a 2-core machine. A test that changes a module's state must put
        // it back (afterEach), or it would leak into the next file.
        test: { name: 'unit', include: ['test/unit/**/*.test.ts', 'test/fuzz/**/*.test.ts'] },
      },
      {
        extends: true,
        // Real daemons, CLIs, git, SQLite and a browser: every file imports its modules afresh.
        test: { name: 'integration', include: ['test/integration/**/*.test.ts', 'test/browser/**/*.test.ts'], poolOptions: { forks: { isolate: true } } },
      },
    ],
  },
});
