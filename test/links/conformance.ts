import { describe, expect, it } from 'vitest';
import type { Link } from '../../lib/links/link.js';
import { waitFor } from '../helpers/wait.js';

/**
 * The other end of a link under test: in this process (another Link), or in a child process
 * that echoes what it gets.
 */
export interface Remote {
  /** What the other end received so far, in order. */
  received(): unknown[];
  /** Makes the other end send `message` back. */
  send(message: object): void;
  /** Closes the other end. */
  close(): void;
  /** Whether the other end has seen the link close. */
  closed(): boolean;
  /** Stops the other end from reading (a stuck reader), where the transport lets it. */
  pause?(): void;
}

/** How to make links of one kind, and what they can do. */
export interface LinkKind {
  readonly name: string;
  /** A fresh link, and its other end. */
  open(): Promise<{ local: Link; remote: Remote }>;
  /** Tells how many bytes wait for the other side (`queuedBytes`), and drops a stuck reader. */
  readonly backpressure: boolean;
  /** Stops everything it started (for afterEach). */
  cleanup(): Promise<void>;
}

// Messages every link carries: a type and a JSON payload (TCP frames carry exactly that).
const message = (i: number, payload: unknown = { i, text: `message ${i}`, list: [i, null, true, { nested: 'é✓' }] }) => ({ t: 'msg', p: payload });

/**
 * The acceptance suite every link passes, whatever carries it (automerge-repo runs one such
 * suite against every network adapter): what is sent arrives deep-equal and in order, large
 * messages included; a close from either side reaches both, once; a send after close, or of a
 * message the link cannot carry, is a `false` and never a throw; a stuck reader shows as
 * queued bytes and is eventually dropped, where the transport can tell.
 */
export function linkConformance(kind: LinkKind): void {
  describe(`${kind.name} link (conformance)`, () => {
    it('carries messages both ways, deep-equal and in order', async () => {
      const { local, remote } = await kind.open();
      const got: unknown[] = [];
      local.on('message', (received) => got.push(received));
      const sent = Array.from({ length: 200 }, (_, i) => message(i));
      for (const each of sent) expect(local.send(each)).toBe(true);
      await waitFor(() => remote.received().length === sent.length, 10_000, 'every message at the other end');
      expect(remote.received()).toEqual(sent);
      for (const each of sent.slice(0, 20)) remote.send(each);
      await waitFor(() => got.length === 20, 10_000, 'the messages sent back');
      expect(got).toEqual(sent.slice(0, 20));
      local.close();
      await kind.cleanup();
    });

    it('carries a large message (20 MB) and what follows it', async () => {
      const { local, remote } = await kind.open();
      const big = message(1, { blob: 'x'.repeat(20 * 1024 * 1024), tail: [1, 2, 3] });
      expect(local.send(big)).toBe(true);
      expect(local.send(message(2))).toBe(true);
      await waitFor(() => remote.received().length === 2, 30_000, 'both messages');
      expect(remote.received()).toEqual([big, message(2)]);
      local.close();
      await kind.cleanup();
    });

    it('a close from this side reaches the other, and the close event fires once', async () => {
      const { local, remote } = await kind.open();
      let closes = 0;
      local.on('close', () => closes++);
      local.close();
      local.close();
      expect(local.closed).toBe(true);
      await waitFor(() => remote.closed(), 10_000, 'the other end to see the close');
      expect(closes).toBe(1);
      await kind.cleanup();
    });

    it('a close from the other side reaches this one', async () => {
      const { local, remote } = await kind.open();
      const closed = new Promise((resolve) => local.once('close', resolve));
      remote.close();
      await closed;
      expect(local.closed).toBe(true);
      await kind.cleanup();
    });

    it('a send after close is false, and never throws', async () => {
      const { local } = await kind.open();
      local.close();
      expect(local.send(message(1))).toBe(false);
      await kind.cleanup();
    });

    it('a message the link cannot carry is false, nothing of it is sent, and the link goes on', async () => {
      const { local, remote } = await kind.open();
      expect(local.send({ t: 'msg', p: { big: 10n } })).toBe(false);
      const cycle: Record<string, unknown> = {};
      cycle.self = cycle;
      expect(local.send({ t: 'msg', p: cycle })).toBe(false);
      expect(local.send(message(3))).toBe(true);
      await waitFor(() => remote.received().length === 1, 10_000, 'the message after');
      expect(remote.received()).toEqual([message(3)]);
      expect(local.closed).toBe(false);
      local.close();
      await kind.cleanup();
    });

    it.runIf(kind.backpressure)('shows what waits for a stuck reader, and drops it once it stays too far behind', async () => {
      const { local, remote } = await kind.open();
      remote.pause!();
      const closed = new Promise<Error | undefined>((resolve) => local.once('close', resolve));
      const chunk = message(0, 'y'.repeat(256 * 1024));
      let peak = 0;
      while (!local.closed) {
        local.send(chunk);
        peak = Math.max(peak, local.queuedBytes ?? 0);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      expect(peak).toBeGreaterThan(0);
      expect(await closed).toMatchObject({ code: 'ERR_COLLECTIVE_PEER_LAGGING' });
      await kind.cleanup();
    });
  });
}
