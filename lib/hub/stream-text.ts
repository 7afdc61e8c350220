import type { JsonValue } from '../core/value.js';
import { jsonSlices } from '../wire/json-slices.js';
import { intentsText, type HubMessage, type OwnEntry, type WireReply } from '../wire/member.js';

// What a member server writes to its members, as text: stream messages where members' own
// writes come back to them as intent ids, and snapshots in parts. A member is whatever the
// server uses to tell them apart (`S`: its sessions), compared by identity.

type StreamMessage = Extract<HubMessage, { t: 'stream' }>;

/**
 * Consecutive items of a stream message written by one member (`session`), or by none: that
 * member gets `intents`, every other the items, encoded once (`json`: their texts, to be
 * joined by commas; kept apart rather than joined here, as the message's text joins them all).
 */
export interface OwnRun<S> {
  readonly session: S | undefined;
  readonly from: number;
  to: number;
  readonly intents: OwnEntry[];
  json?: string[];
}

/** Items `from` to `to` (exclusive) of a stream message, whose JSON is `text` (without brackets). */
export interface ItemsText {
  readonly from: number;
  readonly to: number;
  readonly text: string;
}

/**
 * The span of `outbox` (from `start` on) that a member's write message (`intents`, the first
 * numbered `first`, whose whole text is `text`) streamed as, when the other members may get it
 * as that text: every intent a plain write (an array) that streamed as such, as `session`'s, in
 * order, with nothing between them (the outbox's last run, `runs`, is `session`'s and holds the
 * whole span). Then the span holds exactly what the message's text holds after its first id
 * (see intentsText). Anything else (a refused intent, a cas, an item that carries its time, an
 * expiry fired in between) is encoded as usual: undefined.
 */
export function writeTextSpan<S>(
  outbox: readonly unknown[],
  runs: readonly OwnRun<S>[],
  session: S,
  start: number,
  intents: readonly unknown[],
  first: number,
  text: string,
): ItemsText | undefined {
  const end = outbox.length;
  const last = runs[runs.length - 1];
  if (last === undefined || last.session !== session || last.from > start || last.to !== end) return undefined;
  if (intents.length === 0 || end - start !== intents.length) return undefined;
  for (let k = start; k < end; k++) {
    const item = outbox[k];
    if (!Array.isArray(item) || item.length !== 3 || !Array.isArray(intents[k - start])) return undefined;
  }
  const items = intentsText(text, first);
  return items === undefined ? undefined : { from: start, to: end, text: items };
}

/**
 * Gives each run of a member's items that `texts` (in order, none overlapping) cover exactly
 * its JSON from them (OwnRun.json), so that it is not encoded again.
 */
export function useMembersText<S>(runs: readonly OwnRun<S>[], texts: readonly ItemsText[]): void {
  let next = 0;
  for (const run of runs) {
    if (run.session === undefined) continue;
    while (next < texts.length && texts[next]!.from < run.from) next++;
    const parts: string[] = [];
    let at = run.from;
    while (next < texts.length && texts[next]!.from === at && texts[next]!.to <= run.to) {
      parts.push(texts[next]!.text);
      at = texts[next]!.to;
      next++;
    }
    if (at === run.to && parts.length > 0) run.json = parts;
  }
}

/**
 * A stream message for `session` as an object (for links that take objects: a worker's IPC
 * channel): its own writes as intent ids if `own`, its replies.
 */
export function streamMessage<S>(message: StreamMessage, runs: readonly OwnRun<S>[], session: S, own: boolean, replies: WireReply[] | undefined): StreamMessage {
  let s = message.s;
  if (own) {
    s = [];
    for (const run of runs) {
      if (run.session === session) s.push(...run.intents);
      else for (let i = run.from; i < run.to; i++) s.push(message.s[i]!);
    }
  }
  return replies === undefined ? { ...message, s } : { ...message, s, r: replies };
}

/**
 * The JSON text of a stream message for `session` (undefined: a member with nothing of its own
 * in it): each run of items encoded once (kept on the run), its own runs as intent ids.
 */
export function encodeStream<S>(message: StreamMessage, runs: OwnRun<S>[], session: S | undefined, replies: WireReply[] | undefined): string {
  const parts: string[] = [];
  for (const run of runs) {
    if (run.session === session && session !== undefined) parts.push(JSON.stringify(run.intents).slice(1, -1));
    else if (run.to > run.from) {
      const items = run.from === 0 && run.to === message.s.length ? message.s : message.s.slice(run.from, run.to);
      for (const text of (run.json ??= [JSON.stringify(items).slice(1, -1)])) parts.push(text);
    }
  }
  let text = `{"t":"stream","n":${message.n},"s":[${parts.join(',')}]`;
  if (message.a !== undefined) text += `,"a":${JSON.stringify(message.a)}`;
  if (message.h !== undefined) text += `,"h":${JSON.stringify(message.h)}`;
  if (replies !== undefined) text += `,"r":${JSON.stringify(replies)}`;
  return `${text}}`;
}

/**
 * A snapshot message's JSON text in parts: its header (everything but the tree and the armed
 * expiries), then the tree in slices, then the expiries (`x`, if any) in slices.
 */
export function* snapshotParts(header: string, tree: JsonValue, expiries?: JsonValue): Generator<string, void, undefined> {
  yield `${header.slice(0, -1)},"tree":`;
  yield* jsonSlices(tree);
  if (expiries !== undefined) {
    yield ',"x":';
    yield* jsonSlices(expiries);
  }
  yield '}';
}
