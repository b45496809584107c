// The cluster suite (suite.mjs) on a 3-master Redis Cluster of this file's own, so the Redis
// restart case can crash every master and start them again (empty, same cluster).
import { clusterSuite } from './suite.mjs';
import { startRedisCluster } from './support.mjs';

clusterSuite({ topology: 'a 3-master Redis Cluster', startRedis: startRedisCluster });
