import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Engine } from '../engine/engine.js';
import { taskStatuses } from '../engine/states.js';

/**
 * Prometheus metrics: tasks by state and queue depth per agent (read from the ledger at scrape time),
 * open SSE streams, run durations and retries by class (fed from the event bus), and Node's default
 * process metrics.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly #runStart = new Map<string, number>();
  readonly #off: () => void;

  /** `sseStreams`: how many SSE streams are open now. */
  constructor(engine: Engine, sseStreams: () => number = () => 0) {
    const r = this.registry;
    // The process's own figures: resident memory (process_resident_memory_bytes) and event-loop delay
    // (nodejs_eventloop_lag_*_seconds, from perf_hooks' monitorEventLoopDelay, reset at each scrape).
    collectDefaultMetrics({ register: r });
    new Gauge({
      name: 'tetora_tasks',
      help: 'Tasks in the ledger by status.',
      labelNames: ['status'],
      registers: [r],
      collect() {
        const by = engine.stats().byStatus;
        for (const s of taskStatuses) this.set({ status: s }, by[s] ?? 0);
      },
    });
    new Gauge({
      name: 'tetora_queue_depth',
      help: 'Queued tasks per agent.',
      labelNames: ['agent'],
      registers: [r],
      collect() {
        for (const a of engine.stats().agents) this.set({ agent: a.agent }, a.queued);
      },
    });
    new Gauge({
      name: 'tetora_running_tasks',
      help: 'Running tasks per agent.',
      labelNames: ['agent'],
      registers: [r],
      collect() {
        for (const a of engine.stats().agents) this.set({ agent: a.agent }, a.running);
      },
    });
    new Gauge({
      name: 'tetora_sse_streams',
      help: 'Open Server-Sent Events streams (task events and /api/events).',
      registers: [r],
      collect() {
        this.set(sseStreams());
      },
    });
    const durations = new Histogram({
      name: 'tetora_run_duration_seconds',
      help: 'Duration of each run (one provider call) by how it ended.',
      labelNames: ['outcome'],
      buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600],
      registers: [r],
    });
    const retries = new Counter({
      name: 'tetora_retries_total',
      help: 'Retries, parks, fresh-session retries and provider fallbacks by error class.',
      labelNames: ['class'],
      registers: [r],
    });
    this.#off = engine.subscribe((e) => {
      if (e.type === 'running') this.#runStart.set(e.taskId, e.at);
      else if (e.data.from === 'running') {
        const start = this.#runStart.get(e.taskId);
        this.#runStart.delete(e.taskId);
        if (start !== undefined) durations.observe({ outcome: e.type }, (e.at - start) / 1000);
        if (e.type === 'retry_wait' || e.type === 'rate_limited') retries.inc({ class: String(e.data.class ?? e.type) });
        else if (e.type === 'queued') retries.inc({ class: String(e.data.reason ?? 'requeue') });
      }
    });
  }

  close(): void {
    this.#off();
  }
}
