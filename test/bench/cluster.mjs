// Runs test/bench/cluster-bench.mjs in its own processes (a cluster primary must own its
// process), alternating raw and collective rounds so both see the same machine noise.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { median, table } from './harness.mjs';

const script = fileURLToPath(new URL('./cluster-bench.mjs', import.meta.url));

/**
 * One run of the cluster bench: `mode` raw, raw-others or collective; `persist` an fsync mode
 * for the hub; `workload` incr or sets; `form` object or plain, how the raw relays send each
 * write (see cluster-bench.mjs).
 */
export function runOnce(mode, ops, persist, workload = 'incr', form = 'object') {
  const out = execFileSync(process.execPath, [script], {
    env: { ...process.env, MODE: mode, OPS: String(ops), WORKLOAD: workload, FORM: form, ...(persist === undefined ? {} : { PERSIST: persist }) },
    encoding: 'utf8',
    timeout: 120_000,
  });
  const line = out.split('\n').find((l) => l.startsWith('RESULT '));
  if (line === undefined) throw new Error(`cluster bench (${mode}) printed no result:\n${out}`);
  return JSON.parse(line.slice('RESULT '.length));
}

export function runClusterBench({ rounds = 3, ops = 200_000 } = {}) {
  const raw = [];
  const ours = [];
  // The fan-out workload: sets of each worker's own keys, against relays to every worker and
  // to the other workers only.
  const fanOut = { raw: [], rawOthers: [], ours: [] };
  // The raw relays again, each write sent as collective's plain writes travel ([code, path,
  // value]) rather than as { k, p, v }: the same information in the same form as collective's
  // wire. The targets stay against the object form, the baseline they were set on.
  const plain = { raw: [], rawOthers: [] };
  for (let round = 0; round < rounds; round++) {
    raw.push(runOnce('raw', ops));
    ours.push(runOnce('collective', ops));
    fanOut.raw.push(runOnce('raw', ops, undefined, 'sets').opsPerSecond);
    fanOut.rawOthers.push(runOnce('raw-others', ops, undefined, 'sets').opsPerSecond);
    fanOut.ours.push(runOnce('collective', ops, undefined, 'sets').opsPerSecond);
    plain.raw.push(runOnce('raw', ops, undefined, 'incr', 'plain').opsPerSecond);
    plain.rawOthers.push(runOnce('raw-others', ops, undefined, 'sets', 'plain').opsPerSecond);
  }
  const pick = (list, key) => median(list.map((r) => r[key]));
  const results = {
    relayOpsPerSecond: pick(ours, 'opsPerSecond'),
    rawRelayOpsPerSecond: pick(raw, 'opsPerSecond'),
    latencyP50Ms: pick(ours, 'p50'),
    latencyP99Ms: pick(ours, 'p99'),
    rawLatencyP50Ms: pick(raw, 'p50'),
    rawLatencyP99Ms: pick(raw, 'p99'),
    workerGetsPerSecond: pick(ours, 'getsPerSecond'),
    fanOutOpsPerSecond: median(fanOut.ours),
    rawFanOutOpsPerSecond: median(fanOut.raw),
    rawFanOutToOthersOpsPerSecond: median(fanOut.rawOthers),
    rawPlainRelayOpsPerSecond: median(plain.raw),
    rawPlainFanOutToOthersOpsPerSecond: median(plain.rawOthers),
  };
  table(`cluster: 2 workers each writing ${ops} incr, median of ${rounds} rounds`, [
    ['relay: every worker has seen every write', results.relayOpsPerSecond, 'raw process.send, batched per tick', results.rawRelayOpsPerSecond, '>= 0.7x'],
    ['fan-out: 100 sets per turn over 1000 keys of depth 2', results.fanOutOpsPerSecond, 'raw relay to the other workers only', results.rawFanOutToOthersOpsPerSecond, '>= 0.6x'],
    ['fan-out: the same', results.fanOutOpsPerSecond, 'raw relay to every worker', results.rawFanOutOpsPerSecond],
    ['relay (same figure)', results.relayOpsPerSecond, 'raw process.send, writes as [code, path, value]', results.rawPlainRelayOpsPerSecond],
    ['fan-out (same figure)', results.fanOutOpsPerSecond, 'raw relay to the other workers only, writes as [code, path, value]', results.rawPlainFanOutToOthersOpsPerSecond],
    ['get in a worker (hot key)', results.workerGetsPerSecond],
    ['worker-to-worker latency p50 at 500 writes/s', { ms: results.latencyP50Ms }, 'raw relay p50', { ms: results.rawLatencyP50Ms }],
    ['worker-to-worker latency p99 at 500 writes/s', { ms: results.latencyP99Ms }, 'raw relay p99', { ms: results.rawLatencyP99Ms }, '< 1 ms'],
  ]);
  return results;
}
