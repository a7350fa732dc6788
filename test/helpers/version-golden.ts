import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));

/** Rows of a tab-separated golden file; lines starting with "#" are comments. */
export function readRows(relative: string): string[][] {
  return readFileSync(FIXTURES + relative, 'utf8')
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => l.split('\t'));
}

export type Op = '<' | '=' | '>' | '!';

export interface GoldenPair {
  readonly a: string;
  readonly op: Op;
  readonly b: string;
}

export function readPairs(relative: string): GoldenPair[] {
  return readRows(relative).map(([a, op, b]) => {
    if (a === undefined || b === undefined || !['<', '=', '>', '!'].includes(op ?? '')) throw new Error(`bad golden row in ${relative}: ${a} ${op} ${b}`);
    return { a, op: op as Op, b };
  });
}

/** The op a comparator result stands for; "!" for undefined (not a version of the scheme). */
export function opOf(c: number | undefined): Op {
  return c === undefined ? '!' : c < 0 ? '<' : c > 0 ? '>' : '=';
}

/** The rows the comparator orders differently from the reference, as "a op b (got x)". */
export function mismatches(pairs: readonly GoldenPair[], compare: (a: string, b: string) => number | undefined): string[] {
  const out: string[] = [];
  for (const p of pairs) {
    const got = opOf(compare(p.a, p.b));
    if (got !== p.op) out.push(`${JSON.stringify(p.a)} ${p.op} ${JSON.stringify(p.b)} (got ${got})`);
  }
  return out;
}
