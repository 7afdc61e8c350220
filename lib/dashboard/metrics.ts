import type { CollectiveStats } from '../types.js';
import type { EventStreamStats } from './events.js';

type Labels = Readonly<Record<string, string>>;
type Sample = readonly [labels: Labels | undefined, value: number];

/**
 * Prometheus's text exposition format (version 0.0.4), written out: a family is a `# HELP`
 * and a `# TYPE` line, then one line per sample, `name{label="value"} number`. Label values
 * escape backslash, double quote and newline; help text backslash and newline.
 */
class Exposition {
  readonly #lines: string[] = [];

  family(name: string, type: 'counter' | 'gauge', help: string, samples: readonly Sample[]): void {
    const full = `collective_${name}`;
    this.#lines.push(`# HELP ${full} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${full} ${type}`);
    for (const [labels, value] of samples) this.#lines.push(`${full}${formatLabels(labels)} ${formatValue(value)}`);
  }

  one(name: string, type: 'counter' | 'gauge', help: string, value: number | undefined): void {
    if (value !== undefined) this.family(name, type, help, [[undefined, value]]);
  }

  /** A family of one sample per entry, labelled by `labels`; entries whose value is unknown are left out. */
  each<T>(name: string, type: 'counter' | 'gauge', help: string, entries: readonly T[], labels: (entry: T) => Labels, value: (entry: T) => number | undefined): void {
    const samples: Sample[] = [];
    for (const entry of entries) {
      const known = value(entry);
      if (known !== undefined) samples.push([labels(entry), known]);
    }
    this.family(name, type, help, samples);
  }

  text(): string {
    return `${this.#lines.join('\n')}\n`;
  }
}

function formatLabels(labels: Labels | undefined): string {
  if (labels === undefined) return '';
  const pairs = Object.entries(labels).map(([key, value]) => `${key}="${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
  return `{${pairs.join(',')}}`;
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

const seconds = (ms: number | undefined): number | undefined => (ms === undefined ? undefined : ms / 1000);

/**
 * The hub's stats as Prometheus metrics: every name starts with `collective_`, times are in
 * seconds, and each hub says its id in `collective_info`. The README lists them.
 */
export function renderMetrics(stats: CollectiveStats, events: EventStreamStats): string {
  const out = new Exposition();
  out.family('info', 'gauge', 'This hub: its node id (the value is always 1).', [[{ id: stats.id }, 1]]);
  out.one('start_time_seconds', 'gauge', 'When this hub started, in seconds since the epoch.', stats.startedAt / 1000);
  out.one('ops_applied_total', 'counter', 'Ops applied by this hub, local and remote.', stats.opsApplied);
  out.one('ops_local_total', 'counter', 'Ops this hub stamped itself (its own writes and its members\').', stats.opsLocal);
  out.one('ops_per_second', 'gauge', 'Ops applied over the last second.', stats.opsPerSecond);
  out.one('queued_bytes', 'gauge', 'Bytes written to members and peers and not yet taken by them.', stats.queuedBytes);
  out.one('watchers', 'gauge', 'Live watch listeners.', stats.watchers);
  out.one('metadata_nodes', 'gauge', 'Trie nodes held besides the data.', stats.metadata.nodes);
  out.one('metadata_ops', 'gauge', 'Op records held (what GC keeps bounded).', stats.metadata.ops);
  memberMetrics(out, stats);
  peerMetrics(out, stats);
  out.one('rejected_frames_total', 'counter', 'Peer connections dropped for a bad frame or a protocol violation.', stats.rejectedFrames);
  out.one('auth_failures_total', 'counter', 'Peer connections refused for failing authentication.', stats.authFailures);
  out.one('handshake_timeouts_total', 'counter', 'Peer connections dropped for not completing the handshake in time.', stats.handshakeTimeouts);
  out.family('rejections_total', 'counter', 'Links to peers refused or dropped, by the reason\'s error code.', Object.entries(stats.rejections).map(([code, count]) => [{ code }, count ?? 0]));
  out.one('gc_runs_total', 'counter', 'Metadata collection rounds that folded.', stats.gc.runs);
  out.one('gc_waits_total', 'counter', 'Metadata collection rounds that waited for a hub of the group.', stats.gc.waits);
  out.one('gc_members', 'gauge', 'Other hubs metadata collection waits for.', stats.gc.members);
  out.one('gc_horizon_seconds', 'gauge', 'The time below which this hub folded its metadata away, in seconds since the epoch.', seconds(stats.gc.horizon));
  out.one('expiries_total', 'counter', 'Expiries this hub took (subtrees its timer deleted).', stats.expiry.fired);
  persistMetrics(out, stats);
  redisMetrics(out, stats);
  out.one('dashboard_clients', 'gauge', 'Event-stream clients of the dashboard connected now.', events.clients);
  out.one('dashboard_events_missed_total', 'counter', 'Dashboard events a client missed for not taking the ones before.', events.missed);
  out.one('dashboard_clients_dropped_total', 'counter', 'Dashboard clients disconnected for staying too far behind.', events.dropped);
  return out.text();
}

function memberMetrics(out: Exposition, stats: CollectiveStats): void {
  out.one('members', 'gauge', 'Members (workers, threads) attached now.', stats.members);
  const members = stats.memberList;
  const labels = (member: (typeof members)[number]): Labels => ({ member: String(member.member), kind: member.kind, pid: String(member.pid ?? '') });
  out.each('member_writes_total', 'counter', 'Writes received from a member.', members, labels, (member) => member.writes);
  out.each('member_pending_writes', 'gauge', 'Writes received from a member and not yet applied.', members, labels, (member) => member.pending);
  out.each('member_queued_bytes', 'gauge', 'Bytes written to a member and not yet taken by it.', members, labels, (member) => member.queuedBytes);
  out.one('rejected_messages_total', 'counter', 'Member messages dropped as malformed.', stats.rejectedMessages);
  out.one('rejected_intents_total', 'counter', 'Member writes refused (bad path or value).', stats.rejectedIntents);
}

function peerMetrics(out: Exposition, stats: CollectiveStats): void {
  out.one('connections', 'gauge', 'Links to peer hubs open now, both directions.', stats.connections);
  const peers = stats.peers;
  const labels = (peer: (typeof peers)[number]): Labels => ({ peer: peer.id ?? '', address: peer.address });
  out.each('peer_up', 'gauge', 'Whether this hub\'s stream to a peer is synced and live (1) or not (0).', peers, labels, (peer) => (peer.outbound === 'up' ? 1 : 0));
  out.each('peer_behind_writes', 'gauge', 'This hub\'s writes a peer has not confirmed yet.', peers, labels, (peer) => peer.behind);
  out.each('peer_lag_seconds', 'gauge', 'How much older the latest write a peer confirmed is than this hub\'s latest.', peers, labels, (peer) => seconds(peer.lagMs));
  out.each('peer_clock_offset_seconds', 'gauge', 'How far a peer\'s clock is ahead of this hub\'s, estimated.', peers, labels, (peer) => seconds(peer.clockOffsetMs));
  out.each('peer_queued_bytes', 'gauge', 'Bytes written to a peer and not yet taken by it.', peers, labels, (peer) => peer.queuedBytes);
}

function persistMetrics(out: Exposition, stats: CollectiveStats): void {
  const persist = stats.persist;
  if (persist === undefined) return;
  out.one('persist_log_bytes', 'gauge', 'Bytes of log written since the last snapshot.', persist.logBytes);
  out.one('persist_records_total', 'counter', 'Log records written.', persist.records);
  out.one('persist_fsyncs_total', 'counter', 'Fsyncs of the log.', persist.fsyncs);
  out.one('persist_compactions_total', 'counter', 'Snapshots written to replace the logs.', persist.compactions);
  out.one('persist_longest_pause_seconds', 'gauge', 'The longest a compaction held the event loop.', persist.longestCompactionPauseMs / 1000);
  out.one('persist_failed', 'gauge', 'Whether writing to disk stopped (1) or goes on (0).', persist.failed === undefined ? 0 : 1);
}

function redisMetrics(out: Exposition, stats: CollectiveStats): void {
  const redis = stats.redis;
  if (redis === undefined) return;
  const group = { group: redis.group };
  out.family('redis_connected', 'gauge', 'Whether Redis is reachable (1) or not (0).', [[group, redis.connected ? 1 : 0]]);
  out.family('redis_queued_ops', 'gauge', 'Own ops not yet known to be in this hub\'s stream.', [[group, redis.queuedOps]]);
  out.family('redis_entries_appended_total', 'counter', 'Stream entries this hub appended.', [[group, redis.entriesAppended]]);
  out.family('redis_entries_read_total', 'counter', 'Stream entries this hub read.', [[group, redis.entriesRead]]);
  out.family('redis_ops_read_total', 'counter', 'Ops read from the group\'s streams.', [[group, redis.opsRead]]);
  out.family('redis_rejected_total', 'counter', 'Entries, announcements and snapshots refused as malformed.', Object.entries(redis.rejected).map(([what, count]) => [{ ...group, what }, count]));
  out.family('redis_gaps_total', 'counter', 'Streams found with a gap at this hub\'s position.', [[group, redis.gaps]]);
  out.family('redis_errors_total', 'counter', 'Redis commands that failed.', [[group, redis.errors]]);
  const hub = (entry: (typeof redis.hubs)[number]): Labels => ({ ...group, peer: entry.id, name: entry.name ?? '' });
  out.each('redis_hub_behind_writes', 'gauge', 'This hub\'s writes a hub of the group has not read yet.', redis.hubs, hub, (entry) => entry.behind);
  out.each('redis_hub_lag_seconds', 'gauge', 'How much older the latest write a hub of the group read is than this hub\'s latest.', redis.hubs, hub, (entry) => seconds(entry.lagMs));
  out.each('redis_hub_silent_seconds', 'gauge', 'Time since a hub of the group last announced itself.', redis.hubs, hub, (entry) => seconds(entry.silentMs));
}
