import { describe, expect, it } from 'vitest';
import { PartsSender } from '../../lib/links/parts.js';

// The sender of messages in parts, over a transport the test drives: it holds `capacity` writes,
// then reports itself full until the test lets it take more (as a socket's drain would).
function transport(capacity: number) {
  const written: string[] = [];
  let held = 0;
  let resume: (() => void) | undefined;
  return {
    written,
    drain(): void {
      held = 0;
      const next = resume;
      resume = undefined;
      next?.();
    },
    get waiting(): boolean {
      return resume !== undefined;
    },
    sink: {
      part: (text: string) => (written.push(`part ${text}`), held++),
      end: () => (written.push('end'), held++),
      whole: (message: string) => (written.push(`whole ${message}`), held++),
      full: (next: () => void) => {
        if (held < capacity) return false;
        resume = next;
        return true;
      },
      gone: () => false,
    },
  };
}

describe('PartsSender', () => {
  it('writes what waited behind a message in parts as the transport takes it, in order, not all at once', () => {
    const t = transport(3);
    const sender = new PartsSender(t.sink);
    sender.send(['a', 'b', 'c', 'd'][Symbol.iterator]());
    // Sent while the message goes out in parts (as a link does while the sender is busy).
    expect(sender.busy).toBe(true);
    for (let i = 0; i < 10; i++) sender.wait(`m${i}`, 2);
    let drains = 0;
    while (t.waiting) {
      expect(t.written.length).toBeLessThanOrEqual(3 * (drains + 1));
      // While what waited is still going out, the sender stays busy: what is sent now waits too.
      expect(sender.busy).toBe(true);
      t.drain();
      drains++;
      if (drains === 2) sender.wait('late', 4);
    }
    expect(t.written).toEqual(['part a', 'part b', 'part c', 'part d', 'end', ...Array.from({ length: 10 }, (_, i) => `whole m${i}`), 'whole late']);
    expect(drains).toBeGreaterThanOrEqual(4);
    expect(sender.busy).toBe(false);
    expect(sender.waitingBytes).toBe(0);
  });

  it('tells the messages in parts it will not take further once its link closes, and drops what waited', () => {
    const t = transport(2);
    const sender = new PartsSender(t.sink);
    const ended: string[] = [];
    // Told by `return`, whether it began or not (as a snapshot's parts are).
    const parts = (name: string): Iterator<string> => {
      let i = 0;
      return {
        next: () => (i < 10 ? { done: false, value: `${name}${i++}` } : { done: true, value: undefined }),
        return: () => {
          ended.push(name);
          return { done: true, value: undefined };
        },
      };
    };
    sender.send(parts('first'));
    sender.wait('whole', 5);
    sender.send(parts('second'));
    // The transport took two parts of the first and is full: the link closes.
    expect(t.written).toEqual(['part first0', 'part first1']);
    sender.close();
    expect(ended).toEqual(['first', 'second']);
    expect(sender.busy).toBe(false);
    expect(sender.waitingBytes).toBe(0);
  });
});
