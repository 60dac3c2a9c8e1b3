import { readFileSync, writeFileSync } from 'node:fs';

export interface Block {
  /** Comment lines before the command. */
  comments: string[];
  command: string;
  expected: string[];
}

/** Parses an etcd/raft-style test file: `command` / `----` / output lines / blank line. */
export function parse(text: string): Block[] {
  const lines = text.split('\n');
  const blocks: Block[] = [];
  let comments: string[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i] as string;
    if (line.trim() === '') {
      i++;
      continue;
    }
    if (line.startsWith('#')) {
      comments.push(line);
      i++;
      continue;
    }
    const command = line;
    i++;
    if (lines[i] !== '----') throw new Error(`line ${i + 1}: expected ---- after "${command}"`);
    i++;
    const expected: string[] = [];
    while (i < lines.length && (lines[i] as string).trim() !== '') {
      expected.push(lines[i] as string);
      i++;
    }
    blocks.push({ comments, command, expected });
    comments = [];
  }
  return blocks;
}

export function render(blocks: readonly Block[]): string {
  return `${blocks
    .map((b) =>
      [...b.comments, b.command, '----', ...(b.expected.length > 0 ? b.expected : ['ok'])].join('\n'),
    )
    .join('\n\n')}\n`;
}

/**
 * Runs every block of `file` through `run`; returns mismatches. With `update`, rewrites the file
 * with the actual outputs instead.
 */
export function runFile(
  file: string,
  run: (command: string) => string[],
  update: boolean,
): Array<{ command: string; expected: string; actual: string }> {
  const blocks = parse(readFileSync(file, 'utf8'));
  const bad: Array<{ command: string; expected: string; actual: string }> = [];
  for (const b of blocks) {
    let actual: string[];
    try {
      actual = run(b.command);
    } catch (e) {
      actual = [`error: ${(e as Error).message}`];
    }
    const got = actual.length > 0 ? actual : ['ok'];
    if (update) b.expected = got;
    else if (got.join('\n') !== b.expected.join('\n')) {
      bad.push({ command: b.command, expected: b.expected.join('\n'), actual: got.join('\n') });
    }
  }
  if (update) writeFileSync(file, render(blocks));
  return bad;
}
