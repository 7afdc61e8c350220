// A real redis-server for the tests of the Redis tier: started on a free port of loopback, in a
// scratch directory (AOF on, `appendfsync everysec`, as the crash case wants), stopped
// (or killed with SIGKILL and started again on the same port and directory) by the test.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Whether a `redis-server` can be run here (tests skip with a message otherwise). */
export const REDIS_SERVER = (() => {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  return probe.status === 0 ? 'redis-server' : undefined;
})();

/** Why the Redis tests skip, when they do. */
export const NO_REDIS_REASON = 'no redis-server on this machine (.ci/run installs Debian\'s redis-server when it runs as root with apt)';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function answers(port: number, deadline: number): Promise<void> {
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.write('PING\r\n');
        socket.once('data', (data) => {
          socket.destroy();
          resolve(data.toString().startsWith('+PONG'));
        });
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** One redis-server of a test. */
export class RedisServer {
  readonly dir: string;
  port = 0;
  #process: ChildProcess | undefined;

  private constructor(dir: string) {
    this.dir = dir;
  }

  /** The URL hubs are given. */
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<RedisServer> {
    const server = new RedisServer(mkdtempSync(join(tmpdir(), 'collective-redis-')));
    await server.restart();
    return server;
  }

  /** Starts it (again, on the same port and directory: its AOF is read back). */
  async restart(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      if (this.port === 0 || attempt > 0) this.port = await freePort();
      const child = spawn(REDIS_SERVER!, ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '', '--daemonize', 'no', '--loglevel', 'warning'], { stdio: 'ignore' });
      this.#process = child;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      try {
        await Promise.race([answers(this.port, Date.now() + 10_000), exited.then(() => Promise.reject(new Error('redis-server exited')))]);
        return;
      } catch (error) {
        child.kill('SIGKILL');
        // The port was taken meanwhile: another one.
        if (attempt >= 3) throw error;
      }
    }
  }

  /** kill -9. */
  async kill(): Promise<void> {
    const child = this.#process;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  /** Stops it and removes its directory. */
  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
