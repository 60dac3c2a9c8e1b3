/** Command-line splitting and option parsing with zkCli's rules (commons-cli's DefaultParser). */

/** A failed parse; `message` is what zkCli prints. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/**
 * Splits a line as zkCli does: words separated by blanks, a word may be wrapped in single or
 * double quotes (which are removed and may hold blanks).
 */
export function tokenize(line: string): string[] {
  const out: string[] = [];
  const re = /\s*([^"'\s]\S*|"[^"]*"|'[^']*')\s*/g;
  for (let m = re.exec(line); m !== null; m = re.exec(line)) {
    if (m[0].length === 0) {
      re.lastIndex++;
      continue;
    }
    let v = m[1] ?? '';
    const q = /^(['"])(.*)\1$/s.exec(v);
    if (q) v = q[2] ?? '';
    out.push(v);
  }
  return out;
}

export interface OptionSpec {
  /** Single-letter option name to whether it takes a value. */
  readonly [name: string]: boolean;
}

export interface ParsedArgs {
  /** Positional arguments, the command name first. */
  args: string[];
  /** Options present, with their value ('' for flags). */
  options: Map<string, string>;
}

const NUMBER = /^-?\d+(\.\d+)?$/;

/** Parses short options anywhere on the line; `--` ends the options. */
export function parseOptions(tokens: readonly string[], spec: OptionSpec): ParsedArgs {
  const args: string[] = [];
  const options = new Map<string, string>();
  let onlyArgs = false;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as string;
    if (onlyArgs || i === 0 || !t.startsWith('-') || t === '-') {
      args.push(t);
      continue;
    }
    if (t === '--') {
      onlyArgs = true;
      continue;
    }
    const name = t.slice(1, 2);
    if (t.length >= 2 && Object.hasOwn(spec, name) && (t.length === 2 || spec[name])) {
      if (spec[name]) {
        let value = t.slice(2);
        if (value === '') {
          const next = tokens[i + 1];
          if (next === undefined)
            throw new CliError(
              `org.apache.commons.cli.MissingArgumentException: Missing argument for option: ${name}`,
            );
          value = next;
          i++;
        }
        options.set(name, value);
      } else {
        options.set(name, '');
      }
      continue;
    }
    if (NUMBER.test(t)) {
      args.push(t);
      continue;
    }
    throw new CliError(`org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: ${t}`);
  }
  return { args, options };
}
