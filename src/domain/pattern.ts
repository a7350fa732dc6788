import { badRequest } from './errors.js';

/** The longest pattern accepted: a name filter, not a program. */
const MAX_PATTERN_LENGTH = 256;

/**
 * A name pattern of a rule or filter: a doublestar glob (Harbor's syntax: `*` any run of
 * characters but `/`, `**` any run including `/`, `?` one character but `/`, `{a,b}` either,
 * `[abc]` / `[!abc]` one of / none of), or `re:` and a regular expression matched against the
 * whole name. A bad pattern is a 400 naming it.
 */
export function compilePattern(pattern: string): (name: string) => boolean {
  if (pattern.length > MAX_PATTERN_LENGTH) throw badRequest(`pattern is longer than ${MAX_PATTERN_LENGTH} characters`);
  let re: RegExp;
  try {
    re = pattern.startsWith('re:') ? new RegExp(`^(?:${pattern.slice(3)})$`, 'u') : new RegExp(`^${globSource(pattern)}$`, 'u');
  } catch (e) {
    throw badRequest(`invalid pattern ${JSON.stringify(pattern.slice(0, 100))}: ${e instanceof Error ? e.message : String(e)}`);
  }
  return (name) => re.test(name);
}

/** A comma-separated list of patterns (Harbor's `repositories` and `tags`): a name matches any. */
export function compilePatternList(list: string): (name: string) => boolean {
  const parts = splitTopLevel(list).map((p) => p.trim()).filter((p) => p !== '');
  if (parts.length === 0) return () => true;
  const matchers = parts.map(compilePattern);
  return (name) => matchers.some((m) => m(name));
}

function globSource(glob: string): string {
  let out = '';
  let braces = 0;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        // `**/` also matches no folder at all: `a/**/b` takes `a/b`
        if (glob[i + 2] === '/') {
          out += '(?:.*/)?';
          i += 2;
        } else {
          out += '.*';
          i += 1;
        }
      } else {
        out += '[^/]*';
      }
    } else if (c === '?') {
      out += '[^/]';
    } else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) throw new Error('"[" without "]"');
      let body = glob.slice(i + 1, end);
      const negated = body.startsWith('!') || body.startsWith('^');
      if (negated) body = body.slice(1);
      out += `[${negated ? '^' : ''}${body.replace(/[\\\]]/g, '\\$&')}]`;
      i = end;
    } else if (c === '{') {
      braces++;
      out += '(?:';
    } else if (c === '}' && braces > 0) {
      braces--;
      out += ')';
    } else if (c === ',' && braces > 0) {
      out += '|';
    } else if (c === '\\' && i + 1 < glob.length) {
      out += escape(glob[++i]!);
    } else {
      out += escape(c);
    }
  }
  if (braces > 0) throw new Error('"{" without "}"');
  return out;
}

const escape = (c: string) => c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** Splits on commas outside braces, so that `{a,b},c` is two patterns. */
function splitTopLevel(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '{') depth++;
    else if (c === '}' && depth > 0) depth--;
    else if (c === ',' && depth === 0) {
      parts.push(s.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(s.slice(start));
  return parts;
}
