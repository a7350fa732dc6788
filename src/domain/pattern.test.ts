import { describe, expect, it } from 'vitest';
import { compilePattern, compilePatternList } from './pattern.js';

describe('name patterns', () => {
  const cases: [string, string, boolean][] = [
    ['**', 'library/app/web', true],
    ['*', 'app', true],
    ['*', 'library/app', false],
    ['library/*', 'library/app', true],
    ['library/*', 'library/app/web', false],
    ['library/**', 'library/app/web', true],
    ['a/**/b', 'a/b', true],
    ['a/**/b', 'a/x/y/b', true],
    ['v?.*', 'v1.2', true],
    ['v?.*', 'v10.2', false],
    ['{prod,stage}-*', 'stage-1', true],
    ['{prod,stage}-*', 'dev-1', false],
    ['[0-9]*', '7up', true],
    ['[!0-9]*', '7up', false],
    ['1.0', '1x0', false],
    ['re:v[0-9]+(\\.[0-9]+)*', 'v1.22.3', true],
    ['re:v[0-9]+', 'v1-rc', false],
  ];
  it.each(cases)('%s against %s is %s', (p, name, want) => {
    expect(compilePattern(p)(name)).toBe(want);
  });

  it('takes a comma-separated list (commas inside braces stay one pattern); an empty list takes all', () => {
    const m = compilePatternList('{a,b}-x, release-*');
    expect(m('b-x')).toBe(true);
    expect(m('release-2')).toBe(true);
    expect(m('c-x')).toBe(false);
    expect(compilePatternList('')('anything')).toBe(true);
  });

  it('refuses bad patterns with a 400', () => {
    for (const p of ['[abc', '{a,b', 're:(', 'x'.repeat(300)]) expect(() => compilePattern(p)).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
  });
});
