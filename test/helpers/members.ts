import { afterEach } from 'vitest';
import { Collective } from '../../lib/index.js';
import { MemoryLink } from '../../lib/links/memory.js';
import { Member, type MemberOptions } from '../../lib/member/member.js';

/**
 * Hubs and members over memory links for a test file; whatever it makes (and whatever is
 * handed to `onCleanup`) is closed after each test, last made first. Call at the top level.
 */
export function memoryMembers(): { hub(): Collective; member(of: Collective, options?: MemberOptions): Member; onCleanup(cleanup: () => unknown): void } {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return {
    onCleanup(cleanup) {
      cleanups.push(cleanup);
    },
    hub() {
      const created = new Collective();
      cleanups.push(() => created.close());
      return created;
    },
    member(of, options = {}) {
      const [hubEnd, memberEnd] = MemoryLink.pair();
      of.attachMember(hubEnd);
      const created = new Member(memberEnd, options);
      cleanups.push(() => created.close());
      return created;
    },
  };
}
