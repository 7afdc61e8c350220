import createDebug from 'debug';

/** A debug logger for one area of collective, prefixed with the node id it speaks for. */
export type Logger = (format: string, ...args: unknown[]) => void;

/**
 * Returns a logger for `collective:<area>` whose every line starts with `nodeId`, so that
 * `DEBUG=collective:*` across several processes still tells who said what.
 */
export function logger(area: string, nodeId?: string): Logger {
  const debug = createDebug(`collective:${area}`);
  if (nodeId === undefined) return debug;
  const prefix = `[${nodeId}] `;
  return (format, ...args) => {
    if (debug.enabled) debug(prefix + format, ...args);
  };
}
