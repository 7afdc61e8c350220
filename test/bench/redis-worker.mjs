// One client process of the Redis comparison (test/bench/redis.mjs): set then get N keys over a
// Unix socket, one command at a time, then pipelined by 100. Prints `RESULT <json>`.
const { default: Redis } = await import('ioredis');
const redis = new Redis({ path: process.env.REDIS_SOCKET, lazyConnect: false });
const n = Number(process.env.N);
const me = process.env.ME;
const now = () => performance.now();

let start = now();
for (let i = 0; i < n; i++) {
  await redis.set(`k:${me}:${i % 1000}`, String(i));
  await redis.get(`k:${me}:${i % 1000}`);
}
const unpipelined = (2 * n) / ((now() - start) / 1000);

start = now();
for (let i = 0; i < n; i += 50) {
  const pipeline = redis.pipeline();
  for (let j = i; j < i + 50; j++) pipeline.set(`k:${me}:${j % 1000}`, String(j)).get(`k:${me}:${j % 1000}`);
  await pipeline.exec();
}
const pipelined = (2 * n) / ((now() - start) / 1000);
redis.disconnect();
console.log(`RESULT ${JSON.stringify({ unpipelined, pipelined })}`);
