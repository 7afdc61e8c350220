import { closeSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { PersistError } from '../../errors.js';
import { bootId } from './boot.js';

/** The name of the lock file in a `persist.dir`. */
export const LOCK_FILE = 'LOCK';

interface Holder {
  pid: number;
  host: string;
  boot: string;
}

/** A held lock on a directory; `release()` gives it up. */
export interface DirectoryLock {
  release(): void;
}

/**
 * Takes the lock of `dir`: a file naming this process, created only if there is none. A lock
 * whose process is gone (killed, or from before a reboot) is stale: it is taken over, and
 * `onStale` hears whose it was. A live holder is refused with ERR_COLLECTIVE_PERSIST_LOCKED.
 */
export function lockDirectory(dir: string, onStale: (holder: string) => void): DirectoryLock {
  const path = join(dir, LOCK_FILE);
  const mine: Holder = { pid: process.pid, host: hostname(), boot: bootId() };
  for (let attempt = 0; attempt < 3; attempt++) {
    if (create(path, mine)) return { release: () => release(path, mine) };
    const holder = readHolder(path);
    if (holder === 'gone') continue; // released meanwhile
    if (holder !== undefined && isLive(holder)) throw locked(dir, holder);
    // Stale: moved aside under a name of this process's, so that of two processes taking it
    // over at once only one succeeds, and checked again once moved (it may have just changed).
    const aside = `${path}.stale-${process.pid}`;
    try {
      renameSync(path, aside);
    } catch {
      continue;
    }
    const moved = readHolder(aside);
    if (moved !== 'gone' && moved !== undefined && isLive(moved)) {
      renameSync(aside, path);
      throw locked(dir, moved);
    }
    unlinkSync(aside);
    onStale(holder === undefined ? 'an unreadable lock file' : `process ${holder.pid} on ${holder.host}`);
  }
  throw new PersistError('ERR_COLLECTIVE_PERSIST_LOCKED', `Could not take the lock of ${dir}: it changed hands while this hub tried`);
}

function create(path: string, holder: Holder): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o644);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new PersistError('ERR_COLLECTIVE_PERSIST_IO', `Could not create the lock file ${path}: ${(error as Error).message}`, { cause: error });
  }
  try {
    writeSync(fd, JSON.stringify(holder));
  } finally {
    closeSync(fd);
  }
  return true;
}

// The holder named in a lock file; undefined when it cannot be read as one, 'gone' when there
// is no file any more.
function readHolder(path: string): Holder | undefined | 'gone' {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    return undefined;
  }
  try {
    const parsed = JSON.parse(text) as Partial<Holder>;
    if (Number.isSafeInteger(parsed.pid) && typeof parsed.host === 'string' && typeof parsed.boot === 'string') return parsed as Holder;
  } catch {
    // A lock file cut short by a crash while it was written: nobody holds it.
  }
  return undefined;
}

// A holder is live if it is a process of this boot of this machine that still exists. Another
// machine's lock (a directory on a shared disk) is taken as live: this hub cannot tell.
function isLive(holder: Holder): boolean {
  if (holder.host !== hostname()) return true;
  if (holder.boot !== bootId()) return false;
  if (holder.pid === process.pid) return true;
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, as another user's.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function locked(dir: string, holder: Holder): PersistError {
  const who = holder.pid === process.pid ? 'another hub of this process' : `process ${holder.pid} on ${holder.host}`;
  return new PersistError('ERR_COLLECTIVE_PERSIST_LOCKED', `${dir} is held by ${who}: one directory per hub (give each hub a persist.dir of its own)`);
}

function release(path: string, mine: Holder): void {
  const holder = readHolder(path);
  if (holder === 'gone' || holder === undefined || holder.pid !== mine.pid || holder.boot !== mine.boot) return;
  try {
    unlinkSync(path);
  } catch {
    // Gone already: nothing to give up.
  }
}
