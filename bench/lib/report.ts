/**
 * The child side of a benchmark run: time the sending part, then print ONE JSON line with the
 * client process's own CPU time and peak RSS (process.resourceUsage: this process only).
 */

export interface ClientResult {
  contender: string;
  pushes: number;
  sent: number;
  failed: number;
  seconds: number;
  perSecond: number;
  /** User + system CPU of the client process during the timed part. */
  cpuSeconds: number;
  cpuPer10k: number;
  /** Peak RSS of the client process over its whole life, MB. */
  peakRssMb: number;
  /** Failure reasons and how often, when any failed. */
  failures?: Record<string, number>;
  /** pushline: the provider's in-flight limit when the send ended (adaptive, or the fixed one). */
  inFlightLimit?: number;
}

export interface Timer {
  stop(contender: string, pushes: number, sent: number, failures: Record<string, number>): ClientResult;
}

export function startTimer(): Timer {
  const cpuBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  return {
    stop(contender, pushes, sent, failures) {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const cpu = process.cpuUsage(cpuBefore);
      const cpuSeconds = (cpu.user + cpu.system) / 1e6;
      const failed = Object.values(failures).reduce((a, b) => a + b, 0);
      const result: ClientResult = {
        contender,
        pushes,
        sent,
        failed,
        seconds: round(seconds, 3),
        perSecond: Math.round(sent / seconds),
        cpuSeconds: round(cpuSeconds, 3),
        cpuPer10k: round((cpuSeconds * 10_000) / pushes, 3),
        peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
      };
      if (failed > 0) result.failures = failures;
      return result;
    },
  };
}

export function count(failures: Record<string, number>, reason: unknown): void {
  const key = String(reason ?? 'unknown').slice(0, 120);
  failures[key] = (failures[key] ?? 0) + 1;
}

export function print(result: ClientResult): void {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
