// The order suite (order.test.mjs) on a 3-master Redis Cluster of this file's own.
process.env.COLACHAT_TEST_REDIS = 'cluster';
await import('./order.test.mjs');
