// The cluster suite (cluster.test.mjs) on a 3-master Redis Cluster of this file's own, so the
// Redis restart case can crash every master and start them again (empty, same cluster).
process.env.COLACHAT_TEST_REDIS = 'cluster';
await import('./cluster.test.mjs');
