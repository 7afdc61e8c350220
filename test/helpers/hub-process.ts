import { isDeepStrictEqual } from 'node:util';
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { fixtures } from './processes.js';
import { waitFor } from './wait.js';

const running = new Set<ChildProcess>();

/** Where a hub process runs and listens. */
export interface HubPlace {
  host?: string;
  port?: number;
  runner?: string[];
  /** The fixture to run (default hub-process.mjs; cluster-hub.mjs is a cluster primary with workers). */
  script?: string;
  /** How far off this process's wall clock reads, in ms (fixtures/skewed-clock.mjs). */
  clockOffsetMs?: number;
  /** Extra environment. */
  env?: Record<string, string>;
}

/** A hub in a process of its own (test/fixtures/hub-process.mjs), driven over IPC. */
export class HubProcess {
  readonly child: ChildProcess;
  readonly id: string;
  /** The port the hub listens on (it asks for port 0 and reports what it got). */
  readonly port: number;
  /** Everything the fixture said when it was ready (cluster-hub.mjs adds `dashboard`). */
  readonly ready: Readonly<Record<string, unknown>>;
  #next = 1;
  readonly #waiting = new Map<number, (reply: Record<string, unknown>) => void>();

  private constructor(child: ChildProcess, ready: Record<string, unknown>) {
    this.child = child;
    this.id = ready.id as string;
    this.port = ready.port as number;
    this.ready = ready;
    child.on('message', (message: Record<string, unknown>) => {
      const resolve = this.#waiting.get(message.re as number);
      if (resolve === undefined) return;
      this.#waiting.delete(message.re as number);
      resolve(message);
    });
  }

  /**
   * Starts a hub listening on `where.host` (default 127.0.0.1) and `where.port` (default 0),
   * dialing `peers`. `where.runner` is a command prefix to run it under, such as
   * `ip netns exec <namespace>` (it must exec the program, so that signals reach the hub).
   */
  static async start(peers: { host: string; port: number }[], secret = '', where: HubPlace = {}): Promise<HubProcess> {
    const script = `${fixtures}${where.script ?? 'hub-process.mjs'}`;
    const env: NodeJS.ProcessEnv = { ...process.env, ...where.env, LISTEN_HOST: where.host ?? '127.0.0.1', LISTEN_PORT: String(where.port ?? 0), PEERS: JSON.stringify(peers), SECRET: secret };
    const stdio: ['ignore', 'inherit', 'inherit', 'ipc'] = ['ignore', 'inherit', 'inherit', 'ipc'];
    const preload = where.clockOffsetMs === undefined ? [] : ['--import', pathToFileURL(`${fixtures}skewed-clock.mjs`).href];
    if (where.clockOffsetMs !== undefined) env.CLOCK_OFFSET_MS = String(where.clockOffsetMs);
    const child =
      where.runner === undefined
        ? fork(script, [], { env, stdio, execArgv: [...process.execArgv, ...preload] })
        : spawn(where.runner[0]!, [...where.runner.slice(1), process.execPath, ...preload, script], { env, stdio });
    running.add(child);
    child.once('exit', () => running.delete(child));
    const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
      child.once('message', resolve);
      child.once('exit', (code) => reject(new Error(`hub process exited with ${code} before it was ready`)));
    });
    return new HubProcess(child, ready);
  }

  request(message: Record<string, unknown>, timeout = 10_000): Promise<Record<string, unknown>> {
    const re = this.#next++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`hub ${this.id} did not answer ${JSON.stringify(message)}`)), timeout);
      this.#waiting.set(re, (reply) => {
        clearTimeout(timer);
        if (reply.error !== undefined) reject(new Error(String(reply.error)));
        else resolve(reply);
      });
      this.child.send({ ...message, re });
    });
  }

  write(kind: 'set' | 'incr' | 'append', path: string, value: unknown, n = 1): Promise<unknown> {
    return this.request({ cmd: 'write', kind, path, value, n });
  }

  async state(): Promise<unknown> {
    return (await this.request({ cmd: 'state' })).state;
  }

  async stats(): Promise<Record<string, unknown>> {
    return (await this.request({ cmd: 'state' })).stats as Record<string, unknown>;
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** Kills with SIGKILL and waits for the exit. */
  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGKILL');
    await exited;
  }
}

/** Kills every hub process still running (for afterEach). */
export async function killHubProcesses(): Promise<void> {
  await Promise.all(
    [...running].map(
      (child) =>
        new Promise<void>((resolve) => {
          child.once('exit', () => resolve());
          child.kill('SIGCONT');
          child.kill('SIGKILL');
        }),
    ),
  );
}

/** Waits until every hub streams to and receives from every other one. */
export async function fullMesh(hubs: HubProcess[], timeout = 15_000): Promise<void> {
  const linked = (stats: Record<string, unknown>) => (stats.peers as { outbound: string; inbound: boolean }[]).filter((peer) => peer.outbound === 'up' && peer.inbound).length;
  await waitFor(async () => (await Promise.all(hubs.map((hub) => hub.stats()))).every((stats) => linked(stats) === hubs.length - 1), timeout, 'a full mesh');
}

/**
 * Waits until every hub holds the same tree and `check` holds for it; returns that tree. Key
 * order is not compared: each hub keeps an object's keys in the order it learned them.
 */
export async function converged(hubs: HubProcess[], check: (state: Record<string, unknown>) => boolean, what: string, timeout = 30_000): Promise<Record<string, unknown>> {
  let last: unknown[] = [];
  try {
    await waitFor(
      async () => {
        last = await Promise.all(hubs.map((hub) => hub.state()));
        return last.every((state) => isDeepStrictEqual(state, last[0])) && check(last[0] as Record<string, unknown>);
      },
      timeout,
      what,
    );
  } catch (error) {
    const stats = await Promise.all(hubs.map((hub) => hub.stats().catch(() => 'no answer')));
    throw new Error(`${(error as Error).message}\nlast states: ${JSON.stringify(last)}\nstats: ${JSON.stringify(stats)}`);
  }
  return last[0] as Record<string, unknown>;
}
