import { AuthError, ClosedError, CollectiveError, NotReadyError, ProtocolError, TimeoutError } from './errors.js';
import { Collective } from './roles/hub.js';

/**
 * The default export, for `import collective from 'collective'`: the hub class and the error
 * classes on one object. (The worker-side functions, `collective.get/set/...`, join it with
 * the cluster tier.)
 */
const collective = {
  Collective,
  CollectiveError,
  ClosedError,
  NotReadyError,
  ProtocolError,
  AuthError,
  TimeoutError,
} as const;

export default collective;
