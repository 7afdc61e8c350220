// A tiny benchmark harness: runs each case in rounds, interleaved with its baseline so that
// both see the same machine noise, and reports the median rate of each.

/** Runs `fn` (which does `ops` operations) repeatedly for about `ms` and returns ops/s. */
export function rate(fn, ops, ms = 300) {
  let done = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < ms) {
    fn();
    done += ops;
    elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  }
  return (done / elapsed) * 1000;
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Measures each named case `rounds` times, interleaved, and returns the median rates. */
export function compare(cases, rounds = 5, ms = 300) {
  const samples = Object.fromEntries(Object.keys(cases).map((name) => [name, []]));
  for (let round = 0; round < rounds; round++) {
    for (const [name, { fn, ops }] of Object.entries(cases)) samples[name].push(rate(fn, ops, ms));
  }
  return Object.fromEntries(Object.entries(samples).map(([name, values]) => [name, median(values)]));
}

export function formatRate(opsPerSecond) {
  if (opsPerSecond >= 1e6) return `${(opsPerSecond / 1e6).toFixed(2)}M ops/s`;
  if (opsPerSecond >= 1e3) return `${(opsPerSecond / 1e3).toFixed(1)}k ops/s`;
  return `${opsPerSecond.toFixed(0)} ops/s`;
}

/** Prints rows of [figure, value, baseline, baselineValue] with the ratio. */
export function table(title, rows) {
  console.log(`\n${title}`);
  const lines = rows.map(([name, value, baseName, baseValue, target]) => [
    name,
    formatRate(value),
    baseName ?? '',
    baseValue === undefined ? '' : formatRate(baseValue),
    baseValue === undefined ? '' : `${(value / baseValue).toFixed(2)}x`,
    target ?? '',
  ]);
  const header = ['figure', 'rate', 'baseline (same run)', 'baseline rate', 'ratio', 'target'];
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((line) => String(line[i]).length)));
  const row = (cells) => cells.map((cell, i) => String(cell).padEnd(widths[i])).join('  ');
  console.log(row(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const line of lines) console.log(row(line));
}
