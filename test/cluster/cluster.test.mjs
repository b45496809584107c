// The cluster suite (suite.mjs) on one Redis server of this file's own.
import { clusterSuite } from './suite.mjs';
import { startRedis } from './support.mjs';

clusterSuite({ topology: 'one Redis', startRedis });
