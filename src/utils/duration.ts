const UNITS: ReadonlyArray<readonly [string, number]> = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1_000],
];

/** A duration for people: its two largest units, e.g. `1h 5m`, `2m 10s`, `45s`. @internal */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  let rest = Math.max(0, Math.round(ms / 1000) * 1000);
  const parts: string[] = [];
  for (const [unit, size] of UNITS) {
    if (rest >= size || (unit === 's' && parts.length === 0)) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
    if (parts.length === 2) break;
  }
  return parts.join(' ');
}

/** A duration as an option value that `parseInterval` reads, in its largest whole unit. @internal */
export function asInterval(ms: number): string {
  const names: Record<string, string> = { d: 'day', h: 'hour', m: 'minute', s: 'second' };
  const whole = Math.ceil(ms / 1000) * 1000;
  const [unit, size] = UNITS.find(([, length]) => whole % length === 0) ?? ['s', 1_000];
  const count = whole / size;
  return `${count} ${names[unit]}${count === 1 ? '' : 's'}`;
}
