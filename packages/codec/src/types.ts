/** Core records of zookeeper.jute shared by every package (org.apache.zookeeper.data). */

/** A znode's Stat, all eleven fields. zxids and times are 64-bit, hence bigint. */
export interface Stat {
  czxid: bigint;
  mzxid: bigint;
  ctime: bigint;
  mtime: bigint;
  version: number;
  cversion: number;
  aversion: number;
  ephemeralOwner: bigint;
  dataLength: number;
  numChildren: number;
  pzxid: bigint;
}

/** An authentication identity: scheme (world, auth, digest, ip, super, ...) and id. */
export interface Id {
  scheme: string;
  id: string;
}

/** One ACL entry: a bitmask of Perms granted to an Id. */
export interface ACL {
  perms: number;
  id: Id;
}
