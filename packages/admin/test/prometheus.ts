/** A small parser of the Prometheus text exposition format (0.0.4), for the tests. */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: string;
  help: string;
  samples: Sample[];
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+-?\d+)?$/;
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?/y;

function parseValue(text: string, line: number): number {
  if (text === '+Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  if (text === 'NaN') return Number.NaN;
  const n = Number(text);
  if (text === '' || Number.isNaN(n)) throw new Error(`line ${line}: bad value "${text}"`);
  return n;
}

function parseLabels(text: string, line: number): Record<string, string> {
  const out: Record<string, string> = {};
  LABEL.lastIndex = 0;
  while (LABEL.lastIndex < text.length) {
    const m = LABEL.exec(text);
    if (m === null) throw new Error(`line ${line}: bad labels "${text}"`);
    out[m[1] ?? ''] = (m[2] ?? '').replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
  }
  return out;
}

/** The family a sample belongs to: summaries' and histograms' suffixed series belong to the base name. */
function familyOf(name: string, families: Map<string, Family>): Family | undefined {
  const direct = families.get(name);
  if (direct !== undefined) return direct;
  for (const suffix of ['_sum', '_count', '_bucket', '_total', '_created']) {
    if (name.endsWith(suffix)) {
      const f = families.get(name.slice(0, -suffix.length));
      if (f !== undefined) return f;
    }
  }
  return undefined;
}

/** Parses an exposition; throws on a malformed line or a sample without a TYPE. */
export function parsePrometheus(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? '').trim();
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^#\s+(HELP|TYPE)\s+(\S+)\s*(.*)$/.exec(line);
      if (m === null) continue;
      const name = m[2] ?? '';
      const f = families.get(name) ?? { name, type: 'untyped', help: '', samples: [] };
      if (m[1] === 'TYPE') {
        if (!['counter', 'gauge', 'summary', 'histogram', 'untyped'].includes(m[3] ?? '')) {
          throw new Error(`line ${i + 1}: unknown type "${m[3]}"`);
        }
        f.type = m[3] ?? '';
      } else f.help = m[3] ?? '';
      families.set(name, f);
      continue;
    }
    const m = SAMPLE.exec(line);
    if (m === null) throw new Error(`line ${i + 1}: not a sample: ${line}`);
    const name = m[1] ?? '';
    const f = familyOf(name, families);
    if (f === undefined) throw new Error(`line ${i + 1}: sample ${name} has no TYPE`);
    f.samples.push({ name, labels: parseLabels(m[3] ?? '', i + 1), value: parseValue(m[4] ?? '', i + 1) });
  }
  return families;
}

/** The value of the sample `name` with exactly `labels`. */
export function sampleValue(
  families: Map<string, Family>,
  name: string,
  labels: Record<string, string> = {},
): number {
  const f = familyOf(name, families);
  const s = f?.samples.find(
    (x) =>
      x.name === name &&
      JSON.stringify(Object.entries(x.labels).sort()) === JSON.stringify(Object.entries(labels).sort()),
  );
  if (s === undefined) throw new Error(`no sample ${name}${JSON.stringify(labels)}`);
  return s.value;
}
