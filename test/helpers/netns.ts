import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

// Several "machines" on this box for the partition tests: one network namespace per hub, each
// with its own IPv4 address on a private /24, all on one bridge. Needs Linux, root and iproute2;
// nothing else (no nftables, no netem).
//
// A link is cut by pointing each end's neighbour entry for the other at a MAC address nobody
// has: frames still leave, the bridge floods them, and every interface drops them as not its
// own. The cut is silent (no RST, no ICMP), per pair, both directions, and leaves the host's
// own access to every namespace alone; an open TCP connection stalls exactly as it does when a
// cable between two hosts is pulled. Healing deletes the entries and ARP resolves again.

const NOBODY = '02:00:00:00:00:fe';

// `ip` may live in an sbin folder that is not on a non-login shell's PATH.
export const IP = ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'].find((file) => existsSync(file)) ?? 'ip';

function ip(...args: string[]): string {
  return execFileSync(IP, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Why network namespaces cannot be used here, or undefined when they can. */
export function netnsUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not root';
  const probe = `clprobe${process.pid}`;
  try {
    ip('netns', 'add', probe);
    ip('netns', 'del', probe);
    return undefined;
  } catch (error) {
    return `cannot create a network namespace: ${(error as Error).message.split('\n')[0]}`;
  }
}

/**
 * A lab of namespaces named after this process (and `offset`, for a second lab in one
 * process), so that two test runs never share one.
 */
export class NetnsLab {
  readonly #index: number;
  readonly subnet: string;
  readonly #bridge: string;
  #count = 0;

  constructor(offset = 0) {
    this.#index = 1 + ((process.pid + offset) % 250);
    this.subnet = `10.213.${this.#index}`;
    this.#bridge = `clb${this.#index}`;
  }

  /** The namespace of machine `i` (1-based). */
  namespace(i: number): string {
    return `cln${this.#index}-${i}`;
  }

  /** The address of machine `i`. */
  address(i: number): string {
    return `${this.subnet}.${i}`;
  }

  /** The command prefix that runs a program inside machine `i` (exec'd: the PID is the program's). */
  runner(i: number): string[] {
    return [IP, 'netns', 'exec', this.namespace(i)];
  }

  up(count: number): void {
    // The guard first: if the bridge ever goes away, lab addresses must be unreachable rather
    // than routed out of this machine's default route to a real network.
    ip('route', 'replace', 'unreachable', `${this.subnet}.0/24`, 'metric', '4242');
    this.down(count);
    this.#count = count;
    ip('link', 'add', this.#bridge, 'type', 'bridge');
    ip('addr', 'add', `${this.subnet}.254/24`, 'dev', this.#bridge);
    ip('link', 'set', this.#bridge, 'up');
    for (let i = 1; i <= count; i++) {
      const ns = this.namespace(i);
      const veth = `clv${this.#index}-${i}`;
      ip('netns', 'add', ns);
      ip('link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
      ip('link', 'set', veth, 'master', this.#bridge, 'up');
      ip('-n', ns, 'addr', 'add', `${this.address(i)}/24`, 'dev', 'eth0');
      ip('-n', ns, 'link', 'set', 'eth0', 'up');
      ip('-n', ns, 'link', 'set', 'lo', 'up');
    }
  }

  /** Silently drops everything between machines i and j, both ways. */
  cut(i: number, j: number): void {
    ip('-n', this.namespace(i), 'neigh', 'replace', this.address(j), 'lladdr', NOBODY, 'dev', 'eth0', 'nud', 'permanent');
    ip('-n', this.namespace(j), 'neigh', 'replace', this.address(i), 'lladdr', NOBODY, 'dev', 'eth0', 'nud', 'permanent');
  }

  /** Cuts machine i from every other machine (the host still reaches it). */
  isolate(i: number): void {
    for (let j = 1; j <= this.#count; j++) if (j !== i) this.cut(i, j);
  }

  /** Removes every cut. */
  heal(): void {
    for (let i = 1; i <= this.#count; i++) {
      for (let j = 1; j <= this.#count; j++) {
        if (i === j) continue;
        try {
          ip('-n', this.namespace(i), 'neigh', 'del', this.address(j), 'dev', 'eth0');
        } catch {
          // no entry: that pair was not cut, or ARP has not resolved it yet
        }
      }
    }
  }

  /**
   * Takes the lab down and then removes its guard route: the host is left as it was. (Only
   * after the bridge is gone and every process in the lab killed: until then the guard is what
   * keeps a lab address from leaving through the default route.)
   */
  close(): void {
    this.down();
    try {
      ip('route', 'del', 'unreachable', `${this.subnet}.0/24`, 'metric', '4242');
    } catch {
      // never added (up() was not called)
    }
  }

  /** Deletes the namespaces (killing what still runs in them) and the bridge; the guard route stays. */
  down(count = this.#count): void {
    for (let i = 1; i <= count; i++) {
      const ns = this.namespace(i);
      try {
        for (const pid of ip('netns', 'pids', ns).split('\n').filter(Boolean)) process.kill(Number(pid), 'SIGKILL');
      } catch {
        // no such namespace
      }
      try {
        ip('netns', 'del', ns);
      } catch {
        // no such namespace
      }
    }
    try {
      ip('link', 'del', this.#bridge);
    } catch {
      // no such bridge
    }
  }
}
