import { type VersionScheme, compareDigits, compareStrings, isAsciiDigit } from './scheme.js';

// apk-tools src/version.c (apk-tools 3): digit{.digit}...{letter}{_suf{#}}...{~hash}{-r#}.
// Token kinds in the order that decides "who is newer" when one version stops early.
const INITIAL_DIGIT = 0;
const DIGIT = 1;
const LETTER = 2;
const SUFFIX = 3;
const SUFFIX_NO = 4;
const COMMIT_HASH = 5;
const REVISION_NO = 6;
const END = 7;
const INVALID = 8;

// Pre-release suffixes sort before "no suffix", post-release ones after it.
const SUFFIXES: Readonly<Record<string, number>> = { alpha: 1, beta: 2, pre: 3, rc: 4, cvs: 6, svn: 7, git: 8, hg: 9, p: 10 };
const NO_SUFFIX = 5;

interface Token {
  kind: number;
  text: string;
  suffix: number;
}

class Tokenizer {
  private pos = 0;
  readonly token: Token = { kind: INITIAL_DIGIT, text: '', suffix: 0 };

  constructor(private readonly s: string) {
    this.digits();
  }

  private digits(): void {
    const start = this.pos;
    while (this.pos < this.s.length && isAsciiDigit(this.s.charCodeAt(this.pos))) this.pos++;
    this.token.text = this.s.slice(start, this.pos);
    if (this.token.text === '') this.token.kind = INVALID;
  }

  private span(re: RegExp): string {
    const start = this.pos;
    while (this.pos < this.s.length && re.test(this.s[this.pos] ?? '')) this.pos++;
    return this.s.slice(start, this.pos);
  }

  next(): void {
    const t = this.token;
    if (this.pos >= this.s.length) {
      t.kind = END;
      return;
    }
    const c = this.s[this.pos] ?? '';
    if (c >= 'a' && c <= 'z') {
      if (t.kind > DIGIT) return this.invalid();
      t.text = c;
      t.kind = LETTER;
      this.pos++;
    } else if (c === '.' || isAsciiDigit(c.charCodeAt(0))) {
      if (c === '.') {
        if (t.kind > DIGIT) return this.invalid();
        this.pos++;
      }
      if (t.kind === INITIAL_DIGIT || t.kind === DIGIT) t.kind = DIGIT;
      else if (t.kind === SUFFIX) t.kind = SUFFIX_NO;
      else return this.invalid();
      this.digits();
    } else if (c === '_') {
      if (t.kind > SUFFIX_NO) return this.invalid();
      this.pos++;
      t.text = this.span(/[a-z]/);
      const v = SUFFIXES[t.text];
      if (v === undefined) return this.invalid();
      t.suffix = v;
      t.kind = SUFFIX;
    } else if (c === '~') {
      if (t.kind >= COMMIT_HASH) return this.invalid();
      this.pos++;
      t.text = this.span(/[0-9a-fA-F]/);
      if (t.text === '') return this.invalid();
      t.kind = COMMIT_HASH;
    } else if (c === '-') {
      if (t.kind >= REVISION_NO || this.s[this.pos + 1] !== 'r') return this.invalid();
      this.pos += 2;
      t.kind = REVISION_NO;
      this.digits();
    } else {
      this.invalid();
    }
  }

  private invalid(): void {
    this.token.kind = INVALID;
  }
}

function compareTokens(a: Token, b: Token): number {
  switch (a.kind) {
    case DIGIT:
      // a leading zero makes the component a string, as in Gentoo's rules: 1.01 < 1.1
      if (a.text.startsWith('0') || b.text.startsWith('0')) return compareStrings(a.text, b.text);
      return compareDigits(a.text, b.text);
    case INITIAL_DIGIT:
    case SUFFIX_NO:
    case REVISION_NO:
      return compareDigits(a.text, b.text);
    case LETTER:
      return compareStrings(a.text, b.text);
    case SUFFIX:
      return a.suffix - b.suffix;
    default:
      return compareStrings(a.text, b.text);
  }
}

/** apk_version_compare(): total over all strings, invalid tails included. */
export function compareApk(a: string, b: string): number {
  const ta = new Tokenizer(a);
  const tb = new Tokenizer(b);
  const x = ta.token;
  const y = tb.token;
  while (x.kind === y.kind && x.kind < END) {
    const r = compareTokens(x, y);
    if (r !== 0) return r < 0 ? -1 : 1;
    ta.next();
    tb.next();
  }
  if (x.kind === y.kind) return 0;
  // the one that goes on is newer, unless what follows is a pre-release suffix
  if (x.kind === SUFFIX && x.suffix < NO_SUFFIX) return -1;
  if (y.kind === SUFFIX && y.suffix < NO_SUFFIX) return 1;
  return x.kind > y.kind ? -1 : 1;
}

export function isValidApk(v: string): boolean {
  const t = new Tokenizer(v);
  while (t.token.kind < END) t.next();
  return t.token.kind === END;
}

export const apk: VersionScheme = {
  name: 'apk',
  isValid: isValidApk,
  compare: compareApk,
};
