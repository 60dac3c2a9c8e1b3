export {
  APACHE_ZK_CONF_DIR,
  APACHE_ZK_JAR,
  type ApacheZooKeeper,
  ApacheZooKeeperMissing,
  type ApacheZooKeeperOptions,
  assertApacheZooKeeperInstalled,
  runZkCli,
  runZkCliScript,
  startApacheZooKeeper,
  type ZkCliResult,
} from './apache.js';
export * from './java-driver.js';
export { fourLetterWord, freePort, waitFor } from './ports.js';
