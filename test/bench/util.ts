// Small helpers of the benchmark: percentiles, tables, bounded waits, the machine's description.
import { cpus, totalmem } from "node:os";
import { runInNewContext } from "node:vm";
import { setFlagsFromString } from "node:v8";

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Nearest-rank percentile of a sample (p in 0..100); NaN for an empty one. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

export const median = (xs: readonly number[]) => percentile(xs, 50);

/**
 * A distribution-free 95 % confidence interval of the median: the order statistics n/2 ∓ 0.98·√n
 * (the binomial's normal approximation). Narrow means the median would come out about the same
 * in another run on the same machine; it says nothing of another machine.
 */
export function medianInterval(xs: readonly number[]): [number, number] {
  if (xs.length === 0) return [NaN, NaN];
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  const half = 0.98 * Math.sqrt(n);
  return [s[Math.max(0, Math.floor(n / 2 - half))]!, s[Math.min(n - 1, Math.ceil(n / 2 + half) - 1)]!];
}

export const round = (x: number, digits = 1) => (Number.isFinite(x) ? Math.round(x * 10 ** digits) / 10 ** digits : x);

/** Polls `cond` every `everyMs` until true or `ms` passed; resolves with whether it became true. */
export async function until(cond: () => boolean, ms: number, everyMs = 10): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) return false;
    await sleep(everyMs);
  }
  return true;
}

/** Runs `fn` over `items` with at most `limit` at a time. */
export async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** A forced GC for memory figures: `--expose-gc` if given, else V8's flag set at run time. */
export function gcFunction(): (() => void) | undefined {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) return g;
  try {
    setFlagsFromString("--expose-gc");
    return runInNewContext("gc") as () => void;
  } catch {
    return undefined;
  }
}

export function machine() {
  return {
    nproc: cpus().length,
    cpu: cpus()[0]?.model ?? "unknown",
    memoryGiB: round(totalmem() / 2 ** 30, 1),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
}

/** Prints rows as an aligned text table. */
export function table(title: string, header: string[], rows: (string | number)[][]): void {
  const cells = [header, ...rows.map((r) => r.map((c) => (typeof c === "number" ? fmt(c) : c)))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => String(r[i] ?? "").length)));
  const line = (r: (string | number)[]) => r.map((c, i) => String(c ?? "").padEnd(widths[i]!)).join("  ").trimEnd();
  console.log(`\n${title}`);
  console.log(line(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const r of cells.slice(1)) console.log(line(r));
}

export function fmt(x: number): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? "n/a" : "∞";
  if (Math.abs(x) >= 100) return String(Math.round(x));
  return String(round(x, Math.abs(x) >= 10 ? 1 : 2));
}
