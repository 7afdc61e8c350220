import { readFileSync } from 'node:fs';
import { uptime } from 'node:os';

let cached: string | undefined;

/**
 * An id of this boot of the machine: Linux's boot_id, else the boot time to the minute. A log
 * written in another boot and not closed cleanly may have lost its unsynced tail to the crash
 * of the machine; a process killed in this boot lost nothing it had written (the kernel holds it).
 */
export function bootId(): string {
  if (cached !== undefined) return cached;
  try {
    cached = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    cached = `boot-${Math.round((Date.now() / 1000 - uptime()) / 60)}`;
  }
  return cached;
}
