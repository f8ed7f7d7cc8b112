/**
 * The counters behind gorush's `GET /api/stat/app` (and its `gorush_*` metrics), and the
 * Node equivalent of `GET /api/stat/go`.
 *
 * gorush counts tokens for iOS and Android but requests for Huawei; here every platform is
 * counted per device, from the final outcome of each gorush send (its `SendStatus` when it
 * settles), so the numbers are right with any dispatcher, in-process or Redis. The counters
 * live in this process's memory (gorush's default `stat.engine: memory`): with several
 * `serve` processes each answers for the sends it accepted.
 */
import { availableParallelism } from 'node:os';
import { PerformanceObserver } from 'node:perf_hooks';
import type { SendStatus } from '../../queue/dispatch.js';
import type { GorushPlatform } from './mapping.js';

/** `GET /api/stat/app`: gorush's `status.App`, keys in its order. */
export interface GorushAppStats {
  version: string;
  busy_workers: number;
  success_tasks: number;
  failure_tasks: number;
  submitted_tasks: number;
  total_count: number;
  ios: { push_success: number; push_error: number };
  android: { push_success: number; push_error: number };
  huawei: { push_success: number; push_error: number };
}

/**
 * gorush's counters. A *task* is one gorush notification (gorush queues one task each):
 * submitted when accepted, busy until all its sends settle, then a success when every send
 * ran (`done`), a failure otherwise (refused, `failed`, `aborted`).
 */
export class GorushStats {
  #total = 0;
  #busy = 0;
  #submitted = 0;
  #succeeded = 0;
  #failed = 0;
  readonly #push: Record<GorushPlatform, { success: number; error: number }> = {
    ios: { success: 0, error: 0 },
    android: { success: 0, error: 0 },
    huawei: { success: 0, error: 0 },
  };

  /** Adds a response's `counts` (gorush's `total_count`). */
  addTotal(counts: number): void {
    this.#total += counts;
  }

  /** A notification accepted as a task. */
  taskSubmitted(): void {
    this.#submitted += 1;
    this.#busy += 1;
  }

  /** A task finished: `ok` when every send of it ran to `done`. */
  taskFinished(ok: boolean): void {
    this.#busy = Math.max(0, this.#busy - 1);
    if (ok) this.#succeeded += 1;
    else this.#failed += 1;
  }

  /** Adds a settled send's outcomes, per device: sent/validated are successes, the rest errors. */
  addOutcomes(platform: GorushPlatform, status: SendStatus): void {
    const { sent, validated, invalidToken, failed } = status.counts;
    this.addPushes(platform, sent + validated, invalidToken + failed);
  }

  /** Adds pushes decided without a send (a refused notification's targets count as errors). */
  addPushes(platform: GorushPlatform, success: number, error: number): void {
    this.#push[platform].success += success;
    this.#push[platform].error += error;
  }

  /** The `/api/stat/app` body. */
  app(version: string): GorushAppStats {
    const p = this.#push;
    return {
      version,
      busy_workers: this.#busy,
      success_tasks: this.#succeeded,
      failure_tasks: this.#failed,
      submitted_tasks: this.#submitted,
      total_count: this.#total,
      ios: { push_success: p.ios.success, push_error: p.ios.error },
      android: { push_success: p.android.success, push_error: p.android.error },
      huawei: { push_success: p.huawei.success, push_error: p.huawei.error },
    };
  }
}

/** Garbage collections seen since the first `/api/stat/go` (Node reports them as `gc` entries). */
class GcWatch {
  count = 0;
  /** Last pause end, UNIX nanoseconds. */
  last = 0;
  totalPauseNs = 0;
  /** Up to 256 most recent pauses in nanoseconds, newest last (Go keeps a 256-entry ring). */
  readonly pauses: number[] = [];
  readonly startedAt = Date.now();
  readonly #observer: PerformanceObserver;

  constructor() {
    this.#observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        const ns = Math.round(entry.duration * 1e6);
        this.count += 1;
        this.totalPauseNs += ns;
        this.last = Math.round((performance.timeOrigin + entry.startTime + entry.duration) * 1e6);
        this.pauses.push(ns);
        if (this.pauses.length > 256) this.pauses.shift();
      }
    });
    this.#observer.observe({ entryTypes: ['gc'] });
  }

  disconnect(): void {
    this.#observer.disconnect();
  }
}

let gcWatch: GcWatch | undefined;

/** Stops watching garbage collections (tests, shutdown). */
export function stopGoStats(): void {
  gcWatch?.disconnect();
  gcWatch = undefined;
}

/**
 * `GET /api/stat/go` for a Node process: the keys of gorush's handler
 * (`fukata/golang-stats-api-handler`), filled with the nearest Node figure, plus `runtime`.
 *
 * - `go_version` is Node's version (`v20.x`), `go_os` / `go_arch` Node's platform and arch.
 * - `goroutine_num` is the count of active libuv handles and requests; `gomaxprocs` the
 *   libuv thread-pool size; `cgo_call_num`, `memory_lookups`, `heap_released` are 0 (no
 *   equivalent).
 * - `memory_*` / `heap_*` come from `process.memoryUsage()` (`heap_objects`: 0, V8 does not
 *   count them; `memory_mallocs` / `memory_frees`: 0).
 * - `gc_*` count V8 collections since the first call to this function.
 */
export function goStats(): Record<string, unknown> {
  gcWatch ??= new GcWatch();
  const mem = process.memoryUsage();
  const uptimeSec = Math.max(1e-3, (Date.now() - gcWatch.startedAt) / 1000);
  const resources =
    typeof process.getActiveResourcesInfo === 'function' ? process.getActiveResourcesInfo().length : 0;
  const heapIdle = Math.max(0, mem.heapTotal - mem.heapUsed);
  return {
    time: Date.now() * 1e6,
    go_version: process.version,
    go_os: process.platform,
    go_arch: process.arch,
    cpu_num: availableParallelism(),
    goroutine_num: resources,
    gomaxprocs: Number(process.env['UV_THREADPOOL_SIZE'] ?? 4),
    cgo_call_num: 0,
    memory_alloc: mem.heapUsed,
    memory_total_alloc: mem.heapUsed,
    memory_sys: mem.rss,
    memory_lookups: 0,
    memory_mallocs: 0,
    memory_frees: 0,
    memory_stack: 0,
    heap_alloc: mem.heapUsed,
    heap_sys: mem.heapTotal,
    heap_idle: heapIdle,
    heap_inuse: mem.heapUsed,
    heap_released: 0,
    heap_objects: 0,
    gc_next: mem.heapTotal,
    gc_last: gcWatch.last,
    gc_num: gcWatch.count,
    gc_per_second: gcWatch.count / uptimeSec,
    gc_pause_per_second: gcWatch.totalPauseNs / 1e6 / uptimeSec,
    gc_pause: gcWatch.pauses.map((ns) => ns / 1e6),
    runtime: 'node',
  };
}
