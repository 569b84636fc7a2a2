/** Small statistics over measured samples. */

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** Linear-interpolated percentile (p in 0–100); NaN for no values. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = values.toSorted((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (rank - low);
}

export function max(values: readonly number[]): number {
  return values.length ? values.reduce((a, b) => Math.max(a, b), -Infinity) : Number.NaN;
}

export function min(values: readonly number[]): number {
  return values.length ? values.reduce((a, b) => Math.min(a, b), Infinity) : Number.NaN;
}

/** p50 / p99 / max of a distribution, in its own unit. */
export interface Distribution {
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly min: number;
}

export function distribution(values: readonly number[]): Distribution {
  return {
    count: values.length,
    p50: percentile(values, 50),
    p99: percentile(values, 99),
    max: max(values),
    min: min(values),
  };
}

/** Rounds to `digits` significant digits, keeping integers whole. */
export function round(value: number, digits = 3): number {
  if (!Number.isFinite(value) || value === 0) return value;
  if (Math.abs(value) >= 10 ** digits) return Math.round(value);
  return Number(value.toPrecision(digits));
}
