import { fork, type ChildProcess } from 'node:child_process';
import { fixtures } from './processes.js';

const running = new Set<ChildProcess>();

/** A hub in a process of its own (test/fixtures/hub-process.mjs), driven over IPC. */
export class HubProcess {
  readonly child: ChildProcess;
  readonly id: string;
  /** The port the hub listens on (it asks for port 0 and reports what it got). */
  readonly port: number;
  #next = 1;
  readonly #waiting = new Map<number, (reply: Record<string, unknown>) => void>();

  private constructor(child: ChildProcess, id: string, port: number) {
    this.child = child;
    this.id = id;
    this.port = port;
    child.on('message', (message: Record<string, unknown>) => {
      const resolve = this.#waiting.get(message.re as number);
      if (resolve === undefined) return;
      this.#waiting.delete(message.re as number);
      resolve(message);
    });
  }

  static async start(peers: { host: string; port: number }[], secret = ''): Promise<HubProcess> {
    const child = fork(`${fixtures}hub-process.mjs`, [], {
      env: { ...process.env, LISTEN_PORT: '0', PEERS: JSON.stringify(peers), SECRET: secret },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    running.add(child);
    child.once('exit', () => running.delete(child));
    const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
      child.once('message', resolve);
      child.once('exit', (code) => reject(new Error(`hub process exited with ${code} before it was ready`)));
    });
    return new HubProcess(child, ready.id as string, ready.port as number);
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
