/**
 * `vitest` for the chaos driver when it runs outside vitest (`npm run chaos`, through vite-node with
 * test/chaos/vite.config.ts aliasing `vitest` here): the shared test helpers register cleanup hooks with
 * `afterEach`, which only vitest's own runner can hold. Outside it the driver cleans up itself.
 */
export function afterEach(_fn: () => unknown): void {}
export function expect(): never {
  throw new Error('expect() is not available outside vitest (the chaos driver reports violations itself)');
}
