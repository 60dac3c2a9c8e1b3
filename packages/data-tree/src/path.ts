/** The parent of an absolute path as ZooKeeper computes it: everything before the last slash ('' for '/x'). */
export function parentPathOf(path: string): string {
  return path.slice(0, path.lastIndexOf('/'));
}

/** Maps ZooKeeper's internal root alias ('') to '/'. */
export function displayPath(path: string): string {
  return path === '' ? '/' : path;
}

export function childPath(parent: string, name: string): string {
  return parent === '/' || parent === '' ? `/${name}` : `${parent}/${name}`;
}

/** Java's String.format("%010d", n) for a 32-bit int (negative numbers keep the sign first). */
export function sequenceSuffix(n: number): string {
  if (n < 0) {
    const abs = String(-n);
    return `-${abs.padStart(9, '0')}`;
  }
  return String(n).padStart(10, '0');
}
