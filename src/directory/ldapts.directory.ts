import { Client, type Entry, FilterParser, InvalidCredentialsError, InvalidDNSyntaxError, NoSuchObjectError } from 'ldapts';
import {
  type Directory,
  type DirectoryConnection,
  DirectoryError,
  type DirectoryGroup,
  type DirectoryGroupQuery,
  type DirectoryQuery,
  type DirectoryScope,
  type DirectorySession,
  type DirectoryUser,
  type DirectoryUserQuery,
  type GroupLookup,
} from '../ports/directory.js';
import { and, equality, isAttributeName, normalizeFilter, or } from './ldap-filter.js';

const SCOPES: Record<DirectoryScope, 'base' | 'one' | 'sub'> = { 0: 'base', 1: 'one', 2: 'sub' };

/** The directory over ldapts: one connection per session, one more for each password check. */
export const ldaptsDirectory: Directory = {
  async open(c: DirectoryConnection): Promise<DirectorySession> {
    const client = connect(c);
    try {
      if (c.bindDn !== '') {
        // RFC 4513 5.1.2: a DN with an empty password is an unauthenticated bind that servers may
        // accept as anonymous; it is never taken for the search account's credentials
        if (c.bindPassword === '') throw new DirectoryError('credentials', 'the search DN has no password');
        await client.bind(c.bindDn, c.bindPassword);
      } else {
        // anonymous search: read the root DSE so that an unreachable server fails here
        await client.search('', { scope: 'base', filter: '(objectClass=*)', attributes: ['1.1'] });
      }
    } catch (e) {
      await client.unbind().catch(() => undefined);
      throw toDirectoryError(e, 'binding with the search DN');
    }
    return new LdaptsSession(client, c);
  },
};

function connect(c: DirectoryConnection): Client {
  let url: URL;
  try {
    url = new URL(c.url);
  } catch {
    throw new DirectoryError('invalid', `the LDAP URL ${JSON.stringify(c.url.slice(0, 200))} is not a URL`);
  }
  if (url.protocol !== 'ldap:' && url.protocol !== 'ldaps:') {
    throw new DirectoryError('invalid', `the LDAP URL must start with ldap:// or ldaps://, not ${url.protocol.slice(0, 20)}//`);
  }
  const ms = Math.max(1, c.timeoutSeconds) * 1000;
  return new Client({
    url: `${url.protocol}//${url.host}`,
    timeout: ms,
    connectTimeout: ms,
    // ldapts takes any tlsOptions as a request for TLS, so only ldaps:// gets them
    ...(url.protocol === 'ldaps:' ? { tlsOptions: { rejectUnauthorized: c.verifyCert, minVersion: 'TLSv1.2' as const } } : {}),
  });
}

class LdaptsSession implements DirectorySession {
  constructor(
    private readonly client: Client,
    private readonly c: DirectoryConnection,
  ) {}

  async findUsers(q: DirectoryUserQuery, uid: string | undefined, limit: number): Promise<DirectoryUser[]> {
    attributes(q.uidAttribute, q.membershipAttribute);
    const filter = and(normalizeFilter(q.filter), uid === undefined ? `(${q.uidAttribute}=*)` : equality(q.uidAttribute, uid));
    const entries = await this.search(q, q.baseDn, SCOPES[q.scope], filter, [q.uidAttribute, 'mail', 'email', 'displayName', 'cn', q.membershipAttribute], limit);
    return entries.flatMap((e) => {
      const id = first(e, q.uidAttribute);
      if (id === undefined) return [];
      return [
        {
          dn: e.dn,
          uid: id,
          email: first(e, 'mail') ?? first(e, 'email') ?? '',
          realname: first(e, 'displayName') ?? first(e, 'cn') ?? id,
          groupDns: values(e, q.membershipAttribute),
        },
      ];
    });
  }

  async checkPassword(dn: string, password: string): Promise<boolean> {
    // RFC 4513 5.1.2: an empty password would be an unauthenticated bind, "successful" as anonymous
    if (dn === '' || password === '') return false;
    const client = connect(this.c);
    try {
      await client.bind(dn, password);
      return true;
    } catch (e) {
      if (e instanceof InvalidCredentialsError) return false;
      throw toDirectoryError(e, 'binding as the user');
    } finally {
      await client.unbind().catch(() => undefined);
    }
  }

  async findGroups(q: DirectoryGroupQuery, by: GroupLookup, limit: number): Promise<DirectoryGroup[]> {
    attributes(q.nameAttribute);
    const base = normalizeFilter(q.filter);
    const entries =
      'dn' in by
        ? await this.search(q, by.dn, 'base', and(base), [q.nameAttribute], limit)
        : 'name' in by
          ? await this.search(q, q.baseDn, SCOPES[q.scope], and(base, equality(q.nameAttribute, by.name)), [q.nameAttribute], limit)
          : await this.search(
              q,
              q.baseDn,
              SCOPES[q.scope],
              and(base, or(equality('member', by.memberDn), equality('uniqueMember', by.memberDn), equality('memberUid', by.memberUid))),
              [q.nameAttribute],
              limit,
            );
    return entries.map((e) => ({ dn: e.dn, name: first(e, q.nameAttribute) ?? rdnValue(e.dn) }));
  }

  async close(): Promise<void> {
    await this.client.unbind().catch(() => undefined);
  }

  private async search(q: DirectoryQuery, baseDn: string, scope: 'base' | 'one' | 'sub', filter: string, attrs: string[], limit: number): Promise<Entry[]> {
    try {
      FilterParser.parseString(filter);
    } catch {
      throw new DirectoryError('invalid', `the search filter ${JSON.stringify(q.filter.slice(0, 200))} is not an LDAP filter (RFC 4515)`);
    }
    try {
      const r = await this.client.search(baseDn, {
        scope,
        filter,
        attributes: attrs,
        sizeLimit: limit,
        timeLimit: Math.max(1, this.c.timeoutSeconds),
      });
      return r.searchEntries;
    } catch (e) {
      // a base DN that does not exist holds nobody
      if (e instanceof NoSuchObjectError) return [];
      throw toDirectoryError(e, 'searching');
    }
  }
}

function attributes(...names: string[]): void {
  for (const n of names) if (!isAttributeName(n)) throw new DirectoryError('invalid', `${JSON.stringify(n.slice(0, 100))} is not an LDAP attribute name`);
}

/** Attribute names come back spelled as the server spells them (memberOf for memberof). */
function values(e: Entry, name: string): string[] {
  const lower = name.toLowerCase();
  const key = Object.keys(e).find((k) => k !== 'dn' && k.toLowerCase() === lower);
  if (key === undefined) return [];
  const v = e[key];
  const list = Array.isArray(v) ? v : v === undefined ? [] : [v];
  return list.map((x) => (Buffer.isBuffer(x) ? x.toString('utf8') : String(x)));
}

function first(e: Entry, name: string): string | undefined {
  return values(e, name).find((v) => v !== '');
}

/** `cn=developers,ou=groups,…` → `developers` (escapes of RFC 4514 undone for the usual cases). */
function rdnValue(dn: string): string {
  const m = /^[^=]+=((?:\\.|[^,+\\])*)/.exec(dn);
  return (m?.[1] ?? dn).replace(/\\(.)/g, '$1').trim();
}

const NETWORK = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'EAI_AGAIN', 'EPIPE']);

function toDirectoryError(e: unknown, doing: string): DirectoryError {
  if (e instanceof DirectoryError) return e;
  const err = e as NodeJS.ErrnoException;
  const msg = String(err?.message ?? e).slice(0, 300);
  const code = typeof err?.code === 'string' ? err.code : '';
  if (e instanceof InvalidCredentialsError) return new DirectoryError('credentials', `${doing}: invalid credentials`);
  if (e instanceof InvalidDNSyntaxError) return new DirectoryError('invalid', `${doing}: invalid DN syntax`);
  if (NETWORK.has(code)) return new DirectoryError('unreachable', `${doing}: cannot reach the LDAP server (${code})`);
  if (/time(d)? ?out/i.test(msg)) return new DirectoryError('timeout', `${doing}: the LDAP server did not answer in time`);
  if (code.startsWith('ERR_TLS') || /CERT|SELF_SIGNED|SSL/.test(code) || /certificate|tls|ssl/i.test(msg)) {
    return new DirectoryError('tls', `${doing}: TLS failed (${code || msg})`);
  }
  return new DirectoryError('failed', `${doing}: ${msg}`);
}
