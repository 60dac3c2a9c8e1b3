/**
 * ZooKeeper's znode path rules (PathUtils.validatePath), on UTF-16 code units as Java strings are.
 * One implementation for every package: the client checks paths before sending them, the data
 * tree before applying them, the shell before running a command.
 */

/**
 * Why `path` is not a valid znode path, in the words of ZooKeeper's IllegalArgumentException (what
 * zkCli prints), or undefined when it is valid. `sequential`: the path of a sequential create,
 * which may end with `/` (the server appends the sequence number).
 */
export function pathProblem(path: string, sequential = false): string | undefined {
  if (sequential) path = `${path}1`;
  const len = path.length;
  if (len === 0) return 'Path length must be > 0';
  if (path.charCodeAt(0) !== 0x2f) return 'Path must start with / character';
  if (len === 1) return undefined;
  if (path.charCodeAt(len - 1) === 0x2f) return 'Path must not end with / character';
  let last = 0x2f;
  for (let i = 1; i < len; i++) {
    const c = path.charCodeAt(i);
    let reason: string | undefined;
    if (c === 0) reason = `null character not allowed @${i}`;
    else if (c === 0x2f && last === 0x2f) reason = `empty node name specified @${i}`;
    else if (c === 0x2e) {
      const next = i + 1 === len ? 0x2f : path.charCodeAt(i + 1);
      const dotDot = last === 0x2e && path.charCodeAt(i - 2) === 0x2f;
      if (next === 0x2f && (dotDot || last === 0x2f)) reason = `relative paths not allowed @${i}`;
    } else if (
      (c > 0 && c <= 0x1f) ||
      (c >= 0x7f && c <= 0x9f) ||
      (c >= 0xd800 && c <= 0xf8ff) ||
      (c >= 0xfff0 && c <= 0xffff)
    ) {
      reason = `invalid character @${i}`;
    }
    if (reason !== undefined) return `Invalid path string "${path}" caused by ${reason}`;
    last = c;
  }
  return undefined;
}

/** Whether `path` is a valid znode path (see `pathProblem`). */
export function isValidPath(path: string, sequential = false): boolean {
  return pathProblem(path, sequential) === undefined;
}
