/**
 * Building LDAP search filters (RFC 4515) from the administrator's filter and values that come
 * from users. Every value is escaped: a username such as `*)(uid=*` stays one literal value.
 */

/**
 * RFC 4515 section 3: an assertion value may not hold NUL, `(`, `)`, `*` or `\` as they are;
 * each is written as `\` and two hex digits. Other control characters are escaped as well, which
 * the grammar allows for any octet.
 */
export function escapeFilterValue(value: string): string {
  let out = '';
  for (const c of value) {
    const code = c.charCodeAt(0);
    out += code < 0x20 || code === 0x7f || '*()\\'.includes(c) ? `\\${code.toString(16).padStart(2, '0')}` : c;
  }
  return out;
}

/** RFC 4512 section 2.5: a descriptor (`uid`, `sAMAccountName`) or a numeric OID, with options. */
const ATTRIBUTE = /^(?:[A-Za-z][A-Za-z0-9-]*|[0-9]+(?:\.[0-9]+)+)(?:;[A-Za-z0-9-]+)*$/;

export function isAttributeName(name: string): boolean {
  return name.length <= 128 && ATTRIBUTE.test(name);
}

/** Harbor accepts `objectClass=person` as well as `(objectClass=person)`. */
export function normalizeFilter(filter: string): string {
  const f = filter.trim();
  if (f === '') return '';
  return f.startsWith('(') ? f : `(${f})`;
}

export function equality(attribute: string, value: string): string {
  return `(${attribute}=${escapeFilterValue(value)})`;
}

export function and(...parts: string[]): string {
  const p = parts.filter((x) => x !== '');
  if (p.length === 0) return '(objectClass=*)';
  return p.length === 1 ? p[0]! : `(&${p.join('')})`;
}

export function or(...parts: string[]): string {
  return parts.length === 1 ? parts[0]! : `(|${parts.join('')})`;
}
