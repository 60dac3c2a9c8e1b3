/** Text formats of zkCli: stat lines, Java's Date.toString, permission strings, quota stats. */
import type { ACL, Stat } from '@zkts/client';

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/**
 * Short zone names Java prints where the ICU data of Node only has `GMT+n` (keyed by the zone and
 * that `GMT+n` text).
 */
const JAVA_ZONE_NAMES: Record<string, Record<string, string>> = {
  'Asia/Shanghai': { 'GMT+8': 'CST' },
  'Asia/Chongqing': { 'GMT+8': 'CST' },
  'Asia/Taipei': { 'GMT+8': 'CST' },
  'Asia/Hong_Kong': { 'GMT+8': 'HKT' },
  'Asia/Singapore': { 'GMT+8': 'SGT' },
  'Asia/Tokyo': { 'GMT+9': 'JST' },
  'Asia/Seoul': { 'GMT+9': 'KST' },
  'Asia/Kolkata': { 'GMT+5:30': 'IST' },
  'Europe/London': { GMT: 'GMT', 'GMT+1': 'BST' },
  'Europe/Moscow': { 'GMT+3': 'MSK' },
  'Australia/Sydney': { 'GMT+10': 'AEST', 'GMT+11': 'AEDT' },
  'Australia/Melbourne': { 'GMT+10': 'AEST', 'GMT+11': 'AEDT' },
};
const CENTRAL_EUROPE = [
  'Berlin',
  'Paris',
  'Amsterdam',
  'Brussels',
  'Madrid',
  'Rome',
  'Vienna',
  'Zurich',
  'Stockholm',
  'Oslo',
  'Copenhagen',
  'Warsaw',
  'Prague',
];
for (const city of CENTRAL_EUROPE) JAVA_ZONE_NAMES[`Europe/${city}`] = { 'GMT+1': 'CET', 'GMT+2': 'CEST' };

function zoneName(d: Date, timeZone: string | undefined): string {
  const zone = timeZone ?? new Intl.DateTimeFormat().resolvedOptions().timeZone;
  const parts = new Intl.DateTimeFormat('en-US', { timeZoneName: 'short', timeZone: zone }).formatToParts(d);
  const short = parts.find((p) => p.type === 'timeZoneName')?.value ?? 'UTC';
  return JAVA_ZONE_NAMES[zone]?.[short] ?? short;
}

/** `Mon Apr 15 22:56:07 CST 2019`: what java.util.Date#toString prints, in the local zone. */
export function javaDate(ms: number | bigint, timeZone?: string): string {
  const d = new Date(Number(ms));
  const f = new Intl.DateTimeFormat('en-US', {
    timeZone,
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
    weekday: 'short',
    hourCycle: 'h23',
  }).formatToParts(d);
  const get = (type: string) => f.find((p) => p.type === type)?.value ?? '';
  const weekday = get('weekday');
  const day = DAYS.includes(weekday) ? weekday : (DAYS[d.getDay()] as string);
  const month = MONTHS[Number(get('month')) - 1] as string;
  return `${day} ${month} ${pad2(Number(get('day')))} ${pad2(Number(get('hour')))}:${get('minute').padStart(2, '0')}:${get('second').padStart(2, '0')} ${zoneName(d, timeZone)} ${get('year')}`;
}

function hex(v: number | bigint): string {
  const b = BigInt(v);
  return (b < 0n ? b + (1n << 64n) : b).toString(16);
}

/** The eleven lines of zkCli's StatPrinter. */
export function formatStat(stat: Stat): string[] {
  return [
    `cZxid = 0x${hex(stat.czxid)}`,
    `ctime = ${javaDate(stat.ctime)}`,
    `mZxid = 0x${hex(stat.mzxid)}`,
    `mtime = ${javaDate(stat.mtime)}`,
    `pZxid = 0x${hex(stat.pzxid)}`,
    `cversion = ${stat.cversion}`,
    `dataVersion = ${stat.version}`,
    `aclVersion = ${stat.aversion}`,
    `ephemeralOwner = 0x${hex(stat.ephemeralOwner)}`,
    `dataLength = ${stat.dataLength}`,
    `numChildren = ${stat.numChildren}`,
  ];
}

/** `cdrwa` in ZooKeeper's order. */
export function permString(perms: number): string {
  let s = '';
  if (perms & 4) s += 'c';
  if (perms & 8) s += 'd';
  if (perms & 1) s += 'r';
  if (perms & 2) s += 'w';
  if (perms & 16) s += 'a';
  return s;
}

/** The lines getAcl prints for one ACL entry (the Id's record text, then the permissions). */
export function formatAcl(acl: ACL): string[] {
  return [`'${acl.id.scheme},'${acl.id.id}`, `: ${permString(acl.perms)}`];
}

const PERM_BITS: Record<string, number> = { r: 1, w: 2, c: 4, d: 8, a: 16 };

/** Parses `scheme:id:perms[,...]`; malformed parts are reported through `warn` and skipped. */
export function parseAcl(text: string, warn: (line: string) => void): ACL[] {
  const acl: ACL[] = [];
  for (const part of text.split(',')) {
    const first = part.indexOf(':');
    const last = part.lastIndexOf(':');
    if (first === -1 || first === last) {
      warn(`${part} does not have the form scheme:id:perm`);
      continue;
    }
    let perms = 0;
    for (const ch of part.slice(last + 1)) {
      const bit = PERM_BITS[ch];
      if (bit === undefined) warn(`Unknown perm type: ${ch}`);
      else perms |= bit;
    }
    acl.push({ perms, id: { scheme: part.slice(0, first), id: part.slice(first + 1, last) } });
  }
  return acl;
}

/** ZooKeeper's quota statistics (`count=..,bytes=..[=;key=value...]`). */
export class StatsTrack {
  readonly stats = new Map<string, number>();

  static parse(text: string): StatsTrack {
    const st = new StatsTrack();
    if (text.length === 0) return st;
    for (const pair of text.split(/[,;]+/)) {
      const [k, v] = pair.split('=');
      if (k === undefined || k === '') continue;
      st.stats.set(k, v === undefined || v === '' ? -1 : Number(v));
    }
    return st;
  }

  get(key: string): number {
    return this.stats.get(key) ?? -1;
  }

  set(key: string, value: number): void {
    this.stats.set(key, value);
  }

  toString(): string {
    const keys = [...this.stats.keys()].filter((k) => k !== 'count' && k !== 'bytes').sort();
    let s = `count=${this.get('count')},bytes=${this.get('bytes')}`;
    if (keys.length > 0) {
      s += '=';
      for (const k of keys) s += `;${k}=${this.get(k)}`;
    }
    return s;
  }
}
