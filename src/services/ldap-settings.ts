import type { Clock } from '../ports/clock.js';
import type { DirectoryConnection, DirectoryGroupQuery, DirectoryScope, DirectoryUserQuery } from '../ports/directory.js';
import type { Settings } from './config.service.js';

/** Harbor's ldap_* settings, as the directory port takes them. */
export interface LdapSettings {
  /** auth_mode is ldap_auth */
  enabled: boolean;
  connection: DirectoryConnection;
  users: DirectoryUserQuery;
  /** baseDn empty: groups are not searched, only the users' membership attribute is read */
  groups: DirectoryGroupQuery & { adminDn: string };
}

export type LdapKeys = 'auth_mode' | Extract<keyof Settings, `ldap_${string}`>;

/** Where the settings come from (the configuration service). */
export interface LdapSettingsSource {
  all(): Promise<Pick<Settings, LdapKeys>>;
}

const scope = (v: number): DirectoryScope => (v === 0 || v === 1 ? v : 2);

export function ldapSettings(s: Pick<Settings, LdapKeys>): LdapSettings {
  return {
    enabled: s.auth_mode === 'ldap_auth',
    connection: {
      url: s.ldap_url,
      bindDn: s.ldap_search_dn,
      bindPassword: s.ldap_search_password,
      timeoutSeconds: s.ldap_timeout,
      verifyCert: s.ldap_verify_cert,
    },
    users: {
      baseDn: s.ldap_base_dn,
      scope: scope(s.ldap_scope),
      filter: s.ldap_filter,
      uidAttribute: s.ldap_uid || 'cn',
      membershipAttribute: s.ldap_group_membership_attribute || 'memberof',
    },
    groups: {
      baseDn: s.ldap_group_base_dn,
      scope: scope(s.ldap_group_search_scope),
      filter: s.ldap_group_search_filter,
      nameAttribute: s.ldap_group_attribute_name || 'cn',
      adminDn: s.ldap_group_admin_dn,
    },
  };
}

/**
 * The settings, read again at most every few seconds (another instance may have changed them)
 * and at once after `forget()` (a change on this instance).
 */
export class LdapSettingsCache {
  private cached: { value: LdapSettings; at: number } | undefined;

  constructor(
    private readonly source: LdapSettingsSource,
    private readonly clock: Clock,
    private readonly ttlMs = 5_000,
  ) {}

  async get(): Promise<LdapSettings> {
    const now = this.clock.now();
    if (this.cached && now - this.cached.at < this.ttlMs) return this.cached.value;
    const value = ldapSettings(await this.source.all());
    this.cached = { value, at: now };
    return value;
  }

  forget(): void {
    this.cached = undefined;
  }
}

/**
 * DNs compare case-insensitively and ignore spaces around separators (RFC 4514 allows
 * `CN=Developers, OU=Groups`); Berth stores and compares this form.
 */
export function normalizeDn(dn: string): string {
  return dn
    .trim()
    .replace(/\s*(?<!\\)([,=+])\s*/g, '$1')
    .toLowerCase();
}

/** Whether `dn` is `base` or below it (both normalised). */
export function isWithin(dn: string, base: string): boolean {
  return base === '' || dn === base || dn.endsWith(`,${base}`);
}
