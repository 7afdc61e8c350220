import { inputTypeError, PersistError } from '../../errors.js';
import { Replica, type ReplicaOptions } from '../../core/replica.js';
import type { Persistence } from './persistence.js';

/**
 * The hub's replica, built from what its `persist.dir` held: the snapshot, then the ops of the
 * logs applied again, telling no one (nobody listens yet). The id read back is kept unless the
 * recovery said a new one is needed; an explicit `id` option must agree with the directory's.
 */
export function restoreReplica(persistence: Persistence, options: ReplicaOptions, dir: string): Replica {
  const recovered = persistence.recovered;
  if (options.id !== undefined && recovered.previousId !== undefined && options.id !== recovered.previousId) {
    void persistence.close();
    throw inputTypeError('ERR_COLLECTIVE_INVALID_OPTION', `The \`id\` option (${options.id}) differs from the id of the hub that wrote ${dir} (${recovered.previousId}): leave \`id\` unset with \`persist\``);
  }
  // The id read back is kept, unless the recovery says writes peers hold may be lost.
  const id = (recovered.newIdBecause === undefined ? recovered.previousId : undefined) ?? options.id;
  const withId: ReplicaOptions = id === undefined ? options : { ...options, id };
  let replica: Replica;
  try {
    replica = recovered.snapshot === undefined ? new Replica(withId) : Replica.fromSnapshot(recovered.snapshot, withId, true);
  } catch (error) {
    void persistence.close();
    throw new PersistError('ERR_COLLECTIVE_PERSIST_CORRUPT', `The snapshot of ${dir} cannot be used: ${(error as Error).message}. Restore the directory from a backup, or move it away to start this hub empty (under a new id)`, { cause: error });
  }
  replica.restore(recovered.ops);
  return replica;
}
