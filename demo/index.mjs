// `npm run demo`: what collective can do in this version, in one process. The multi-process,
// two-machine demonstration replaces this once the cluster and TCP tiers exist.
import { Collective } from 'collective';

const local = { host: 'localhost', port: 0 }; // port 0: any free port
const hub = await new Promise((resolve) => new Collective(local, [local], resolve));

const stop = hub.watch('users.42', (value, change) => {
  console.log(`watch users.42 -> ${JSON.stringify(value)}   (${change.op} ${change.path} by ${change.origin})`);
});

await hub.set('users.42', { name: 'Ada', visits: 0 });
for (let i = 0; i < 3; i++) await hub.incr('users.42.visits');
await hub.append('log', { at: 'start' });
console.log('cas lock.owner null -> "demo":', await hub.cas('lock.owner', null, 'demo'));
console.log('cas lock.owner null -> "other":', await hub.cas('lock.owner', null, 'other'));

const user = hub.get('users.42');
console.log('users.42 is deep-frozen:', Object.isFrozen(user));
try {
  hub.set('bad', { when: new Date() });
} catch (error) {
  console.log(`bad input is refused synchronously: ${error.message}`);
}
console.log('the whole tree:', JSON.stringify(hub.get()));
console.log('stats:', JSON.stringify(hub.stats()));
stop();
await hub.close();
