/**
 * gorush's Prometheus metrics (`metric/metrics.go`, namespace `gorush_`), so that dashboards
 * built on them keep working. Each is read at scrape time from the {@link GorushStats}
 * counters (gorush's collector reads its status storage the same way); the metrics module
 * registers them (prom-client, `collect()` setting the value from `stats.app(version)`).
 *
 * Names, help texts and types are gorush's, including its inconsistency (`_error` for iOS,
 * `_fail` for Android and Huawei) and no `_total` suffix.
 *
 * How the counters come from feedback: when a send made by `POST /api/push` settles, its
 * `SendStatus.counts` are added per device to its platform (`sent` + `validated` → success,
 * `invalidToken` + `failed` → error); the targets of a notification refused before sending
 * (no token, contradicting targets, an app that does not exist for its topic) and the devices
 * of a send the dispatcher refused count as errors. Tasks are gorush notifications.
 */
import type { GorushAppStats } from './stats.js';

export interface GorushMetric {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  /** The metric's value from the `/api/stat/app` counters. */
  value(stats: GorushAppStats): number;
}

export const GORUSH_METRICS: readonly GorushMetric[] = [
  {
    name: 'gorush_total_push_count',
    help: 'Number of push count',
    type: 'counter',
    value: (s) => s.total_count,
  },
  {
    name: 'gorush_ios_success',
    help: 'Number of iOS success count',
    type: 'counter',
    value: (s) => s.ios.push_success,
  },
  {
    name: 'gorush_ios_error',
    help: 'Number of iOS fail count',
    type: 'counter',
    value: (s) => s.ios.push_error,
  },
  {
    name: 'gorush_android_success',
    help: 'Number of android success count',
    type: 'counter',
    value: (s) => s.android.push_success,
  },
  {
    name: 'gorush_android_fail',
    help: 'Number of android fail count',
    type: 'counter',
    value: (s) => s.android.push_error,
  },
  {
    name: 'gorush_huawei_success',
    help: 'Number of huawei success count',
    type: 'counter',
    value: (s) => s.huawei.push_success,
  },
  {
    name: 'gorush_huawei_fail',
    help: 'Number of huawei fail count',
    type: 'counter',
    value: (s) => s.huawei.push_error,
  },
  {
    name: 'gorush_busy_workers',
    help: 'Length of busy workers',
    type: 'gauge',
    value: (s) => s.busy_workers,
  },
  {
    name: 'gorush_success_tasks',
    help: 'Length of Success Tasks',
    type: 'counter',
    value: (s) => s.success_tasks,
  },
  {
    name: 'gorush_failure_tasks',
    help: 'Length of Failure Tasks',
    type: 'counter',
    value: (s) => s.failure_tasks,
  },
  {
    name: 'gorush_submitted_tasks',
    help: 'Length of Submitted Tasks',
    type: 'counter',
    value: (s) => s.submitted_tasks,
  },
];
