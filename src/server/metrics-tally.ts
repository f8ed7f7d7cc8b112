/**
 * Counting on the hot path without prom-client's per-call cost. `counter.inc(labels)` hashes
 * the label object on every call (about 2 µs with five labels: more than pushline spends
 * sending a push), and metrics are fed once per device and once per request. Here a series is
 * found through nested maps keyed by the label values (no string building, no hashing of an
 * object), and prom-client reads the totals only when scraped: a counter's `collect()` copies
 * them in, a histogram is a small metric object of our own that the registry renders.
 */
import type { Metric, Registry } from 'prom-client';

/** One series: its labels (built once) and its value. */
export interface Series<V> {
  readonly labels: Readonly<Record<string, string>>;
  value: V;
}

/** Series by label values; an `undefined` value leaves its label out. */
export class Tally<V> {
  /** Every series, in the order first seen (what a scrape reads). */
  readonly series: Series<V>[] = [];
  private readonly root = new Map<string | undefined, unknown>();
  /**
   * The label values of the last call and their series: consecutive calls mostly name the same
   * one (a send's devices are mostly `sent` by one provider), and comparing the values is
   * cheaper than a walk down the maps.
   */
  private lastValues: Array<string | undefined> | undefined;
  private lastLeaf: Series<V> | undefined;

  constructor(
    private readonly names: readonly string[],
    private readonly initial: () => V,
  ) {}

  /** The series for these label values (one per label name, in order), made on first use. */
  at(...values: Array<string | undefined>): Series<V> {
    const lastValues = this.lastValues;
    if (lastValues !== undefined && sameValues(lastValues, values)) return this.lastLeaf!;
    const leaf = this.find(values);
    this.lastValues = values;
    this.lastLeaf = leaf;
    return leaf;
  }

  private find(values: Array<string | undefined>): Series<V> {
    let node = this.root;
    const last = this.names.length - 1;
    for (let i = 0; i < last; i++) {
      let next = node.get(values[i]) as Map<string | undefined, unknown> | undefined;
      if (next === undefined) {
        next = new Map();
        node.set(values[i], next);
      }
      node = next;
    }
    let leaf = node.get(values[last]) as Series<V> | undefined;
    if (leaf === undefined) {
      const labels: Record<string, string> = {};
      this.names.forEach((name, i) => {
        const value = values[i];
        if (value !== undefined) labels[name] = value;
      });
      leaf = { labels, value: this.initial() };
      node.set(values[last], leaf);
      this.series.push(leaf);
    }
    return leaf;
  }
}

/** Bucket counts (not cumulative: made so when rendered), sum and count of one series. */
export interface HistogramData {
  counts: number[];
  sum: number;
  count: number;
}

function sameValues(a: Array<string | undefined>, b: Array<string | undefined>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * A Prometheus histogram fed through {@link observe} and rendered by the registry like
 * prom-client's own (`_bucket` with `le`, `_sum`, `_count`).
 */
export class TallyHistogram {
  private readonly tally: Tally<HistogramData>;

  constructor(
    registry: Registry,
    readonly name: string,
    readonly help: string,
    labelNames: readonly string[],
    private readonly buckets: readonly number[],
  ) {
    this.tally = new Tally(labelNames, () => ({
      counts: new Array(buckets.length).fill(0),
      sum: 0,
      count: 0,
    }));
    // The registry renders any object with name, help, type and get(); prom-client's types
    // only name its own classes.
    registry.registerMetric({
      name,
      help,
      type: 'histogram',
      get: async () => this.get(),
      reset: () => {},
    } as unknown as Metric);
  }

  /** Counts `value` (seconds) in the series of these label values. */
  observe(value: number, ...labels: Array<string | undefined>): void {
    const data = this.tally.at(...labels).value;
    const { buckets } = this;
    let i = 0;
    while (i < buckets.length && value > buckets[i]!) i++;
    if (i < buckets.length) data.counts[i]!++;
    data.sum += value;
    data.count++;
  }

  private get() {
    const values: Array<{ metricName: string; labels: Record<string, string | number>; value: number }> = [];
    for (const { labels, value } of this.tally.series) {
      let cumulative = 0;
      this.buckets.forEach((bound, i) => {
        cumulative += value.counts[i]!;
        values.push({
          metricName: `${this.name}_bucket`,
          labels: { ...labels, le: bound },
          value: cumulative,
        });
      });
      values.push({
        metricName: `${this.name}_bucket`,
        labels: { ...labels, le: '+Inf' },
        value: value.count,
      });
      values.push({ metricName: `${this.name}_sum`, labels: { ...labels }, value: value.sum });
      values.push({ metricName: `${this.name}_count`, labels: { ...labels }, value: value.count });
    }
    return { name: this.name, help: this.help, type: 'histogram', values, aggregator: 'sum' };
  }
}
