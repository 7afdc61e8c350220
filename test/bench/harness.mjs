// A tiny benchmark harness: runs each case in rounds, interleaved with its baseline so that
// both see the same machine noise, and reports the median rate of each.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let gc;

/**
 * Collects everything unreachable, twice (what weak references and finalizers free goes at the
 * second): before a heap is weighed, or before a pause is timed that must not take in the
 * collection of what an earlier phase left behind.
 */
export function collectGarbage() {
  if (gc === undefined) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc');
  }
  gc();
  gc();
}

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

/** The keys of the read benchmarks: 101,614 dotted paths of depth 3 (`u<a>.p<b>.k<c>`). */
export function depth3Paths(fanout = [47, 47, 46]) {
  const paths = [];
  for (let a = 0; a < fanout[0]; a++) for (let b = 0; b < fanout[1]; b++) for (let c = 0; c < fanout[2]; c++) paths.push(`u${a}.p${b}.k${c}`);
  return paths;
}

/** Shuffles `items` in place with a seeded generator (the same order in every run). */
export function shuffle(items, seed = 7) {
  let state = seed;
  const random = () => ((state = (state * 1103515245 + 12345) % 2147483648) / 2147483648);
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
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

/** A figure that is a duration (lower is better), not a rate: `{ ms }` or `{ s }`. */
function format(value) {
  if (typeof value === 'number') return formatRate(value);
  if (value.ms !== undefined) return `${value.ms.toFixed(3)} ms`;
  if (value.bytes !== undefined) return `${value.bytes.toFixed(0)} B`;
  if (value.mb !== undefined) return `${value.mb.toFixed(0)} MB`;
  return `${value.s.toFixed(2)} s`;
}

function magnitude(value) {
  return typeof value === 'number' ? value : (value.ms ?? value.bytes ?? value.mb ?? value.s);
}

// Every row printed, for the one summary table at the end of `npm run bench`.
const printed = [];

function render(header, lines) {
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((line) => String(line[i]).length)));
  const row = (cells) => cells.map((cell, i) => String(cell).padEnd(widths[i])).join('  ');
  console.log(row(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const line of lines) console.log(row(line));
}

function cells([name, value, baseName, baseValue, target]) {
  return [
    name,
    format(value),
    baseName ?? '',
    baseValue === undefined ? '' : format(baseValue),
    baseValue === undefined ? '' : `${(magnitude(value) / magnitude(baseValue)).toFixed(2)}x`,
    target ?? '',
  ];
}

/**
 * Prints rows of [figure, value, baseline, baselineValue, target] with the ratio. A value is a
 * rate (ops/s), a duration (`{ ms }`, `{ s }`) or a size (`{ bytes }`); a ratio is value over
 * baseline either way.
 */
export function table(title, rows) {
  console.log(`\n${title}`);
  printed.push(...rows.map((row) => [title.split(':')[0], row]));
  render(['figure', 'value', 'baseline (same run)', 'baseline', 'ratio', 'target'], rows.map(cells));
}

/** One table of every figure printed so far, each beside its baseline and the ratio. */
export function summary() {
  console.log('\nsummary: every figure of this run next to its baseline from the same run');
  render(['part', 'figure', 'value', 'baseline (same run)', 'baseline', 'ratio', 'target'], printed.map(([part, row]) => [part, ...cells(row)]));
}
