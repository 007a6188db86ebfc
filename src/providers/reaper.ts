import { RUN_MARKER, groupHasMarker, killMarked, terminateGroup } from '../util/procgroup.js';

/**
 * Kills what a run left behind once it ended: its process group, and every process carrying its marker
 * (a background or `setsid` grandchild that left the group). The /proc scans of runs that end close
 * together are shared (at most one scan every `gapMs`), so a busy daemon does not scan /proc per task:
 * what a run left behind lives at most that much longer.
 * `idle()` resolves once every kill asked for is done: a clean shutdown waits for it.
 */
export class Reaper {
  #markers = new Set<string>();
  #groups: Array<Promise<void>> = [];
  #scan: Promise<void> | undefined;
  #lastScan = 0;
  #grace = 3000;

  constructor(private readonly gapMs = 250) {}

  reap(pgid: number, marker: string, graceMs: number): void {
    this.#grace = graceMs;
    // Only while the group still holds a process of this run: its id may be reused once it is empty.
    if (groupHasMarker(pgid, RUN_MARKER, marker)) this.#track(terminateGroup(pgid, graceMs));
    this.#markers.add(marker);
    this.#schedule();
  }

  #track(p: Promise<void>): void {
    const tracked = p.catch(() => {}).finally(() => {
      this.#groups = this.#groups.filter((g) => g !== tracked);
    });
    this.#groups.push(tracked);
  }

  #schedule(): void {
    if (this.#scan) return;
    const wait = Math.max(0, this.#lastScan + this.gapMs - Date.now());
    this.#scan = new Promise<void>((r) => setTimeout(r, wait))
      .then(async () => {
        const batch = this.#markers;
        this.#markers = new Set();
        this.#lastScan = Date.now();
        if (batch.size > 0) await killMarked((m) => batch.has(m), this.#grace);
      })
      .catch(() => {})
      .finally(() => {
        this.#scan = undefined;
        if (this.#markers.size > 0) this.#schedule();
      });
  }

  /** Resolves once every kill asked for so far has finished. */
  async idle(): Promise<void> {
    while (this.#scan || this.#groups.length > 0) {
      await Promise.all([this.#scan, ...this.#groups]);
    }
  }
}

/** The daemon's one reaper. */
export const reaper = new Reaper();
