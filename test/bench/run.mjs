// `npm run bench`: every benchmark, one table each; `--json FILE` also writes the figures.
import { writeFileSync } from 'node:fs';
import { runClusterBench } from './cluster.mjs';
import { runCoreBench } from './core.mjs';
import { runMemberReadBench } from './member-reads.mjs';
import { runExpiryBench } from './expiry.mjs';
import { runPersistBench } from './persist.mjs';
import { runMeshBench } from './mesh.mjs';
import { runThreadsBench } from './threads.mjs';
import { runRedisBench } from './redis.mjs';
import { runRedisTierBench } from './redis-tier.mjs';
import { runSnapshotStallBench } from './snapshot-stall.mjs';
import { runHubJoinStallBench } from './hub-join-stall.mjs';
import { runBigParentBench } from './big-parent.mjs';
import { summary } from './harness.mjs';

const figures = {
  node: process.version,
  date: new Date().toISOString(),
  core: runCoreBench(),
  memberReads: await runMemberReadBench(),
  expiry: runExpiryBench(),
  persist: await runPersistBench(),
  cluster: runClusterBench(),
  threads: await runThreadsBench({ rounds: 3, ops: 200_000 }),
  mesh: await runMeshBench({ rounds: 3, ops: 300_000 }),
  snapshotStall: runSnapshotStallBench(),
  snapshotStallTtl: runSnapshotStallBench({ ttl: true }),
  hubJoinStall: runHubJoinStallBench(),
  bigParent: runBigParentBench(),
};
figures.redis = await runRedisBench({ collectiveRelay: figures.cluster.relayOpsPerSecond });
figures.redisTier = await runRedisTierBench({ meshOpsPerSecond: figures.mesh.hubOpsPerSecond });
summary();
const jsonAt = process.argv.indexOf('--json');
if (jsonAt !== -1) {
  const file = process.argv[jsonAt + 1] ?? 'bench.json';
  writeFileSync(file, `${JSON.stringify(figures, null, 2)}\n`);
  console.log(`\nfigures written to ${file}`);
}
