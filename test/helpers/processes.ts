import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The fixtures folder, where real worker and process scripts live. */
export const fixtures = fileURLToPath(new URL('../fixtures/', import.meta.url));

const running = new Set<ChildProcess>();

/** Kills every process started with `runFixture` that is still running (for afterEach). */
export async function killAll(): Promise<void> {
  await Promise.all(
    [...running].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        }),
    ),
  );
  running.clear();
}

export interface FixtureRun {
  result: unknown;
  stdout: string;
  stderr: string;
  code: number | null;
}

/**
 * Runs `node <fixture>` with `env` and resolves with the JSON it prints after `RESULT `, once
 * it exits. Rejects (after killing it) if it does not exit within `timeout` ms. `onLine` sees
 * each line of its output as it comes (to learn a port it printed, say).
 */
export function runFixture(fixture: string, env: Record<string, string>, timeout = 30_000, onLine?: (line: string) => void): Promise<FixtureRun> {
  const child = spawn(process.execPath, [fixtures + fixture], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let stdout = '';
  let stderr = '';
  let pending = '';
  child.stdout!.on('data', (chunk) => {
    stdout += chunk;
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) onLine?.(line);
  });
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${fixture} ${JSON.stringify(env)} did not finish in ${timeout} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeout);
    child.on('exit', (code) => {
      clearTimeout(timer);
      running.delete(child);
      const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
      if (line === undefined) {
        reject(new Error(`${fixture} ${JSON.stringify(env)} exited ${code} without a result\nstdout: ${stdout}\nstderr: ${stderr}`));
        return;
      }
      resolve({ result: JSON.parse(line.slice('RESULT '.length)), stdout, stderr, code });
    });
  });
}
