/** Waits until `condition()` is truthy, checking every few ms, failing after `timeout` ms. */
export async function waitFor(condition: () => unknown, timeout = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeout;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Resolves with the arguments of the next `event` of `emitter`, failing after `timeout` ms. */
export function eventPromise<T extends unknown[]>(
  emitter: { once(event: string, listener: (...args: T) => void): unknown; off(event: string, listener: (...args: T) => void): unknown },
  event: string,
  timeout = 5000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new Error(`timed out after ${timeout} ms waiting for '${event}'`));
    }, timeout);
    const listener = (...args: T): void => {
      clearTimeout(timer);
      resolve(args);
    };
    emitter.once(event, listener);
  });
}
