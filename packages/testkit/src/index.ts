export {
  APACHE_ZK_CONF_DIR,
  APACHE_ZK_JAR,
  type ApacheEnsemble,
  type ApacheZooKeeper,
  ApacheZooKeeperMissing,
  type ApacheZooKeeperOptions,
  assertApacheZooKeeperInstalled,
  runZkCli,
  runZkCliScript,
  startApacheEnsemble,
  startApacheZooKeeper,
  type ZkCliResult,
} from './apache.js';
export * from './java-driver.js';
export { fourLetterWord, freePort, waitFor } from './ports.js';
