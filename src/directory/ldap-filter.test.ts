import { FilterParser } from 'ldapts';
import { describe, expect, it } from 'vitest';
import { and, equality, escapeFilterValue, isAttributeName, normalizeFilter, or } from './ldap-filter.js';

describe('LDAP filter values (RFC 4515)', () => {
  it('escapes the five characters the grammar reserves, as backslash and two hex digits', () => {
    expect(escapeFilterValue('*)(uid=*')).toBe('\\2a\\29\\28uid=\\2a');
    expect(escapeFilterValue('a\\b')).toBe('a\\5cb');
    expect(escapeFilterValue('nul\u0000x')).toBe('nul\\00x');
    expect(escapeFilterValue('line\nbreak')).toBe('line\\0abreak');
  });

  it('leaves ordinary and non-ASCII characters as they are', () => {
    expect(escapeFilterValue('alice.o-brien@example.com')).toBe('alice.o-brien@example.com');
    expect(escapeFilterValue('Jürgen Ōta')).toBe('Jürgen Ōta');
  });

  it('keeps an injection attempt one literal value of one equality filter', () => {
    const f = and(normalizeFilter('objectClass=person'), equality('uid', '*)(|(uid=*'));
    expect(f).toBe('(&(objectClass=person)(uid=\\2a\\29\\28|\\28uid=\\2a))');
    const parsed = FilterParser.parseString(f) as unknown as { filters: { attribute: string; value: string }[] };
    expect(parsed.filters).toHaveLength(2);
    expect(parsed.filters[1]).toMatchObject({ attribute: 'uid', value: '*)(|(uid=*' });
  });

  it('accepts the administrator filter with or without its parentheses', () => {
    expect(normalizeFilter(' objectClass=person ')).toBe('(objectClass=person)');
    expect(normalizeFilter('(&(a=b)(c=d))')).toBe('(&(a=b)(c=d))');
    expect(normalizeFilter('')).toBe('');
    expect(and('', '(a=b)')).toBe('(a=b)');
    expect(and()).toBe('(objectClass=*)');
    expect(or('(a=b)', '(c=d)')).toBe('(|(a=b)(c=d))');
  });

  it('takes descriptors and numeric OIDs as attribute names, nothing that could end a filter', () => {
    for (const ok of ['uid', 'sAMAccountName', 'memberOf', 'x-custom-1', '0.9.2342.19200300.100.1.1', 'userCertificate;binary']) expect(isAttributeName(ok), ok).toBe(true);
    for (const bad of ['', 'uid)(x', 'u id', '1uid', 'uid=', '*']) expect(isAttributeName(bad), bad).toBe(false);
  });
});
