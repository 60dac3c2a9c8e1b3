/**
 * Path rules of ZooKeeper's PathUtils.validatePath, on UTF-16 code units as Java strings are.
 * Returns the reason a path is invalid, or undefined when it is valid.
 */
export function pathProblem(path: string): string | undefined {
  const len = path.length;
  if (len === 0) return 'path length must be > 0';
  if (path.charCodeAt(0) !== 0x2f) return 'path must start with /';
  if (len === 1) return undefined;
  if (path.charCodeAt(len - 1) === 0x2f) return 'path must not end with /';
  let last = 0x2f;
  for (let i = 1; i < len; i++) {
    const c = path.charCodeAt(i);
    if (c === 0) return `null character not allowed @${i}`;
    if (c === 0x2f && last === 0x2f) return `empty node name specified @${i}`;
    if (c === 0x2e) {
      const next = i + 1 === len ? 0x2f : path.charCodeAt(i + 1);
      if (last === 0x2e) {
        if (path.charCodeAt(i - 2) === 0x2f && next === 0x2f) return `relative paths not allowed @${i}`;
      } else if (last === 0x2f && next === 0x2f) {
        return `relative paths not allowed @${i}`;
      }
    } else if (
      (c > 0 && c <= 0x1f) ||
      (c >= 0x7f && c <= 0x9f) ||
      (c >= 0xd800 && c <= 0xf8ff) ||
      (c >= 0xfff0 && c <= 0xffff)
    ) {
      return `invalid character @${i}`;
    }
    last = c;
  }
  return undefined;
}

export function isValidPath(path: string): boolean {
  return pathProblem(path) === undefined;
}

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
