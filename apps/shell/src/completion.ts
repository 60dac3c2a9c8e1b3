/** Tab completion: command names for the first word, znode paths for words starting with `/`. */

/** Lists the children of a znode (empty when it cannot be read). */
export type ChildLister = (path: string) => Promise<string[]>;

/**
 * Completes the last word of `line`: returns the candidates and the word they replace, as
 * node:readline's completer expects.
 */
export async function complete(
  line: string,
  commands: readonly string[],
  listChildren: ChildLister,
): Promise<[string[], string]> {
  const start = line.search(/\S+$/);
  const word = start === -1 ? '' : line.slice(start);
  const before = start === -1 ? line : line.slice(0, start);
  if (before.trim() === '') {
    return [commands.filter((c) => c.startsWith(word)).map((c) => `${c} `), word];
  }
  if (!word.startsWith('/')) return [[], word];
  const slash = word.lastIndexOf('/');
  const dir = slash === 0 ? '/' : word.slice(0, slash);
  const prefix = word.slice(slash + 1);
  let children: string[];
  try {
    children = await listChildren(dir);
  } catch {
    return [[], word];
  }
  const base = dir === '/' ? '/' : `${dir}/`;
  const hits = children
    .filter((c) => c.startsWith(prefix))
    .sort()
    .map((c) => `${base}${c}`);
  return [hits, word];
}
