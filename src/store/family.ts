import type { Db } from './db.js';
import type { TaskStatus } from '../model/status.js';

/**
 * How tasks hang together through `tasks.parent_id` (delegated children, smart dispatch's classifier
 * tasks): what a cancel cascades to. The links themselves (`task_links`) are TaskStore's.
 */
export class TaskFamilyStore {
  readonly #openChildren;

  constructor(db: Db) {
    this.#openChildren = db.prepare(`SELECT id, status FROM tasks WHERE parent_id = ?
      AND status NOT IN ('succeeded', 'failed', 'cancelled', 'timed_out') ORDER BY seq`);
  }

  /** The tasks whose parent is `parentId` and that have not ended, oldest first. */
  openChildren(parentId: string): Array<{ id: string; status: TaskStatus }> {
    return this.#openChildren.all(parentId) as Array<{ id: string; status: TaskStatus }>;
  }
}
